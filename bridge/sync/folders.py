"""Folders: every folder path in scope on one side exists on the other (folders are never deleted)."""

from __future__ import annotations

from bridge.model import Entity
from bridge.sync.context import SIDES, RunContext, other
from bridge.sync.merge import Side


class FolderSync:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    def run(self) -> None:
        ctx = self.ctx
        if Entity.FOLDER not in ctx.left.capabilities.entities or Entity.FOLDER not in ctx.right.capabilities.entities:
            return
        paths: dict[Side, set[tuple[str, ...]]] = {
            side: {f.path for f in ctx.side(side).iter_folders() if ctx.in_scope_path(f.path)} for side in SIDES
        }
        for source in SIDES:
            target = other(source)
            if not ctx.policy.may_write(target):
                continue
            for path in sorted(paths[source] - paths[target]):
                ctx.writer.ensure_folder(target, path)
