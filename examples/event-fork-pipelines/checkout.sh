#!/bin/sh
# Publishes a checkout event: ./checkout.sh ORDER_ID AMOUNT
# (run after deploying; it reads the topic from the stack's outputs).
set -eu
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://localhost:4566}"
topic=$(aws cloudformation describe-stacks --stack-name checkout \
  --query "Stacks[0].Outputs[?OutputKey=='CheckoutEventsTopicArn'].OutputValue" --output text)
aws sns publish --topic-arn "$topic" \
  --message "{\"id\": \"$1\", \"amount\": $2, \"time\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\", \"payment\": {\"type\": \"card\", \"card-number\": \"4111111111111111\", \"card-expiry\": \"12/29\"}}" \
  --message-attributes "{\"amount\": {\"DataType\": \"Number\", \"StringValue\": \"$2\"}}" \
  --query MessageId --output text
