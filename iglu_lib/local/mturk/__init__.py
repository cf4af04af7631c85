"""A local server that speaks the MTurk requester API as boto3 sends it, plus the worker side.

Researchers rehearse a whole campaign, HIT pages included, without an AWS account: boto3's own
`mturk` client pointed at this server with `endpoint_url` behaves as against the real service,
a browser can preview, accept and submit HITs on `/worker`, and simulated workers use the JSON
control API under `/_local`. Run it with `python -m iglu_lib.local.mturk --host H --port P
--data-dir D`; `iglu stack up` does so for you. State lives in SQLite under the data folder.
"""
