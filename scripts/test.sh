#!/usr/bin/env bash
# Runs forkline's whole test suite: gofmt and vet, then every test (unit, store
# conformance, fuzz seed corpora, end-to-end with aws-sdk-go-v2, the AWS CLI,
# Debian's python3-boto3 for the query protocol, a Celery worker on
# Debian's python3-celery and python3-kombu, moto as an MD5 reference, and
# the kill -9 crash test) under the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."

# The second clients. Debian's python3-boto3 speaks SQS's query protocol;
# Celery's SQS transport (kombu) has a query-protocol client of its own.
clients="python3-boto3 python3-celery python3-kombu python3-pycurl"
if ! /usr/bin/python3 -c 'import boto3, celery, kombu, pycurl' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing $clients (apt) for the second-client tests"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $clients) >/dev/null
  else
    echo "second clients missing: install them (apt-get install $clients)" >&2
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
