"""Prolific as a crowd provider beside MTurk: `client` (the researcher API, typed, retried) and
`provider` (studies, submissions, bonuses, groups and messages with Prolific's rules checked
before any call). The local stack's emulator (`iglu_lib.local.prolific`) shares no code with it."""
