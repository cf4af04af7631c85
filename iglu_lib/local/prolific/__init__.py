"""A local emulator of Prolific's researcher API (`/api/v1/`, token auth) with a control API
for simulated participants (`/_local/`); see README.md beside this file."""
