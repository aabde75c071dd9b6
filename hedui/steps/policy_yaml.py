"""Reading a policy file as a deployment writes it: which files, their encoding, and YAML read safely.

What an outsider's editor or a hostile hand may put in the file is refused with a Chinese message naming
the file, the line and what to do, never a traceback and never a silent choice:
- a file saved in GBK (Windows Notepad's ANSI) instead of UTF-8;
- a key written twice in one mapping (YAML keeps the last one silently: a copied block edited only in its
  first copy would weigh households by the unedited figure) — merge keys (`<<: *base`) still override;
- a tag that builds objects (`!!python/object/apply:…`): refused by the safe loader, said in Chinese;
- anchors and aliases that expand to more values than any policy holds (an alias bomb), or refer to
  themselves: every later step (validation, error messages, reports) would walk them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from hedui.errors import PolicyError

#: the endings a policy file is written with; a `.yml` file beside the `.yaml` ones is read, not skipped
SUFFIXES = (".yaml", ".yml")
#: values (mappings, lists, scalars, aliases counted each time they are used) a policy file may expand to
MAX_VALUES = 100_000


def policy_paths(folder: Path) -> list[Path]:
    """The policy files of a folder, whatever the case of their ending (`.yaml`, `.yml`, `.YAML`)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


class _StrictLoader(yaml.SafeLoader):
    """The safe loader, refusing a key written twice in one mapping."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                line = key_node.start_mark.line + 1
                if key_node.value in seen:
                    raise PolicyError(f"第 {line} 行：键“{key_node.value}”在同一层中写了两次（第 {seen[key_node.value]} "
                                      f"行已有），YAML 只会保留后一个；请删除或合并重复的键")
                seen[key_node.value] = line
        return super().construct_mapping(node, deep=deep)


def _where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark is not None else "某处"


def _count_values(doc: Any, path: Path) -> None:
    """Refuse a document that expands (aliases followed) to more than MAX_VALUES values; a self-referring
    alias never ends and is refused the same way."""
    stack, n = [doc], 0
    while stack:
        x = stack.pop()
        n += 1
        if n > MAX_VALUES:
            raise PolicyError(
                f"政策文件 {path.name} 展开后超过 {MAX_VALUES:,} 个值（锚点 & 与别名 * 层层引用或引用自身）；"
                "政策文件只需几十个参数：请去掉嵌套的别名，把参数直接写出")
        if isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)


def read_policy_yaml(path: Path) -> Any:
    """The document of one policy file; PolicyError (Chinese: file, line, what to do) when it cannot be read."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"无法读取政策文件 {path}：{exc.strerror or exc}；请检查文件是否存在、是否有读取权限") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise PolicyError(f"政策文件 {path.name} 不是 UTF-8 编码（第 {line} 行起无法解码，"
                          "可能是以 GBK/ANSI 保存的）；请用文本编辑器另存为 UTF-8 编码") from exc
    try:
        doc = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except PolicyError as exc:
        raise PolicyError(f"政策文件 {path.name} {exc}") from exc
    except yaml.constructor.ConstructorError as exc:
        tag = re.search(r"'(tag:[^']*|![^']*)'", str(exc.problem))
        tag = tag.group(1).replace("tag:yaml.org,2002:", "!!") if tag else "?"
        raise PolicyError(f"政策文件 {path.name} {_where(exc)}：含有不允许的 YAML 标签 {tag}；政策文件只能写"
                          "数值、文字、列表和映射，请删除以 !! 或 ! 开头的标签") from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"政策文件 {path.name} {_where(exc)}：YAML 格式错误（{getattr(exc, 'problem', '') or exc}）；"
                          "请检查该处的缩进、冒号和括号") from exc
    _count_values(doc, path)
    return doc
