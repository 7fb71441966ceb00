{{/* The chart's name (nameOverride). */}}
{{- define "cni-metrics-helper.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The objects' name (fullnameOverride, else release-name). */}}
{{- define "cni-metrics-helper.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "cni-metrics-helper.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The service account the pods run as. */}}
{{- define "cni-metrics-helper.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "cni-metrics-helper.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The image: override, else the upstream ECR naming. */}}
{{- define "cni-metrics-helper.image" -}}
{{- if .Values.image.override -}}
{{- .Values.image.override -}}
{{- else -}}
{{- printf "%s.dkr.ecr.%s.%s/cni-metrics-helper:%s" (toString .Values.image.account) (toString .Values.image.region) (toString .Values.image.domain) (toString .Values.image.tag) -}}
{{- end -}}
{{- end -}}
