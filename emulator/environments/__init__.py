"""Declared environments: seed files (YAML, JSON or TOML), Amplify Gen 2 `amplify_outputs.json`,
CloudFormation/CDK templates, and the export/import of whole states.

documents.py   reading a file: its format, its kind, where each field is (for error messages)
seed.py        applying a declaration through the operations' own handlers and model rules
amplify.py     amplify_outputs.json -> a declaration, and the endpoint overrides an app needs
cloudformation.py  AWS::Cognito::* resources, Ref/GetAtt/Sub resolved as each one is created
state.py       export and import of every row a user or identity pool owns (docs/state-format.md)
progress.py    counts on stderr for long work
"""

from __future__ import annotations

KINDS = ("seed", "amplify", "cloudformation", "state")  # what a declared file can be
