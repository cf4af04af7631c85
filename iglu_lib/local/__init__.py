"""The local stack for rehearsal: emulators, the local MTurk server, the platform simulator
and simulated workers. Only tests, the demo and notebooks in the local profile use it."""
