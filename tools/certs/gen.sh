#!/usr/bin/env bash
# Makes the test CA, the fake API server's certificate (127.0.0.1, ::1,
# localhost, 10.200.0.1) and a client certificate, valid for 100 years. Run
# once; the outputs are committed so tests need no openssl.
set -euo pipefail
cd "$(dirname "$0")"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 36500 \
  -keyout ca.key -out ca.crt -subj "/CN=cni-metrics-helper test CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
  -out server.csr -subj "/CN=fake-apiserver"
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 36500 \
  -out server.crt -extfile <(printf "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,IP:10.200.0.1\nextendedKeyUsage=serverAuth")
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client.key \
  -out client.csr -subj "/CN=test-admin/O=system:masters"
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 36500 \
  -out client.crt -extfile <(printf "extendedKeyUsage=clientAuth")
# An unrelated CA, to prove a server cert from the wrong CA is refused.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 36500 \
  -keyout other-ca.key -out other-ca.crt -subj "/CN=some other CA"
rm -f server.csr client.csr ca.srl other-ca.key
