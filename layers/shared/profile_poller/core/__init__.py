"""The core: the domain and the sweep. Model, classifier, sweep, outcomes, pacing, ports, error-file parser and
the SNS message contract. Pure Python: nothing here imports boto3, requests, paramiko or Powertools, nor the
adapters or the entry side (an import-linter contract in `make lint` keeps it so)."""
