#!/usr/bin/env bash
# Runs forkline's whole test suite: gofmt and vet, then every test (unit, store
# conformance, fuzz seed corpora, end-to-end with aws-sdk-go-v2, the AWS CLI,
# Debian's python3-boto3 for the query protocol, a Celery worker on
# Debian's python3-celery and python3-kombu, the AWS SDK for JavaScript v3,
# moto as an MD5 reference, and the kill -9 crash test) under the race
# detector.
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
# The AWS SDK for JavaScript v3, pinned by e2e/testdata/jsclient's lock file.
if [ ! -d e2e/testdata/jsclient/node_modules ]; then
  if command -v npm >/dev/null; then
    echo "installing the AWS SDK for JavaScript (npm ci) for the second-client tests"
    npm ci --silent --no-audit --no-fund --prefix e2e/testdata/jsclient >/dev/null
  else
    echo "npm is missing: install Node.js and npm, or run the tests without scripts/test.sh" >&2
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
