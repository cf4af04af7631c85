"""Platform task JSON in and out, join codes and agent instances.

Names are resolved on first use so that importing `iglu_lib.encoding` stays cheap.
"""

from __future__ import annotations

from iglu_lib.lazy import lazy_exports

_EXPORTS = {
    "encode_task": "encoder",
    "EncodingError": "encoder",
    "visible_dialogue": "encoder",
    "decode_task": "decoder",
    "DecodingError": "decoder",
    "load_platform_task": "decoder",
    "iglu_block_from_platform": "decoder",
    "split_task_files": "decoder",
    "build_join_codes": "join_codes",
    "read_join_codes": "join_codes",
    "game_join_code": "join_codes",
    "ExportError": "join_codes",
    "load_agent_instances": "agents",
    "validate_agent_instances": "agents",
    "encode_tasks": "batch",
    "make_platform_exports": "exports",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
