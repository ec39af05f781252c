#!/usr/bin/env bash
# Runs forkline's whole test suite: gofmt and vet, then every test (unit, store
# conformance, fuzz seed corpora, end-to-end with aws-sdk-go-v2, the AWS CLI,
# Debian's python3-boto3 for the query protocol, moto as an MD5 reference,
# and the kill -9 crash test) under the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."

# The second clients. Debian's python3-boto3 speaks SQS's query protocol.
if ! /usr/bin/python3 -c 'import boto3' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing python3-boto3 (apt) for the query-protocol tests"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-boto3) >/dev/null
  else
    echo "python3-boto3 is missing: install it (apt-get install python3-boto3)" >&2
    exit 1
  fi
fi
export FORKLINE_REQUIRE_CLIENTS=1

unformatted=$(gofmt -l cmd internal bench e2e examples 2>/dev/null || true)
if [ -n "$unformatted" ]; then
  echo "not gofmt-formatted:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
go test -race -count=1 -timeout 15m ./...
