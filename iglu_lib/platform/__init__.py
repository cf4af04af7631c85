"""The Minecraft platform seen from the workbench: completion codes, the game-data client,
event parsing, validation of assignments, personal-data scrubbing and the import and
export of game records in the published format.

Modules: `codes` (completion and join codes), `reasons` (the vocabulary of problems),
`feedback` (published export format), `events` (events to tables and summaries),
`client` (fetching games from blob storage), `validation`, `privacy`.
"""
