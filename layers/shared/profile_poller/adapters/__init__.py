"""Adapters: one module per outside system (DynamoDB, the Campaign API, S3, SNS, Secrets Manager). Each
implements a port of `core.ports` and maps its SDK's errors to the domain errors defined there."""
