#!/bin/sh
# Regenerates the SAM transform's golden corpus with aws-sam-translator (the
# second opinion that internal/stack/sam is checked against):
#   internal/stack/sam/testdata/corpus/**/X.yaml -> X.expected
# (JSON, or "ERROR ..." text for a refused template).
set -e
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../internal/stack/sam/testdata/corpus"
for f in *.yaml err/*.yaml; do
  flags=""
  case "$f" in *app_sar*) flags="--sar-stub";; esac
  python3 "$here/translate.py" $flags "$f" > "${f%.yaml}.expected" || true
done
