"""Platform task JSON in and out, join codes and agent instances.

Names are resolved on first use so that importing `iglu_lib.encoding` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iglu_lib.lazy import lazy_exports

if TYPE_CHECKING:  # the checker sees the real names; at run time they load on first use
    from iglu_lib.encoding.agents import load_agent_instances as load_agent_instances
    from iglu_lib.encoding.agents import validate_agent_instances as validate_agent_instances
    from iglu_lib.encoding.batch import encode_tasks as encode_tasks
    from iglu_lib.encoding.decoder import DecodingError as DecodingError
    from iglu_lib.encoding.decoder import decode_task as decode_task
    from iglu_lib.encoding.decoder import iglu_block_from_platform as iglu_block_from_platform
    from iglu_lib.encoding.decoder import load_platform_task as load_platform_task
    from iglu_lib.encoding.decoder import split_task_files as split_task_files
    from iglu_lib.encoding.encoder import EncodingError as EncodingError
    from iglu_lib.encoding.encoder import encode_task as encode_task
    from iglu_lib.encoding.encoder import visible_dialogue as visible_dialogue
    from iglu_lib.encoding.exports import make_platform_exports as make_platform_exports
    from iglu_lib.encoding.join_codes import ExportError as ExportError
    from iglu_lib.encoding.join_codes import build_join_codes as build_join_codes
    from iglu_lib.encoding.join_codes import game_join_code as game_join_code
    from iglu_lib.encoding.join_codes import read_join_codes as read_join_codes

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
