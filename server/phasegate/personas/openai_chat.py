"""The ``openai`` persona: a model behind any OpenAI-compatible endpoint edits the files.

Works with OpenAI itself and with local servers that speak the same protocol (Ollama,
vLLM, LM Studio, llama.cpp): ``pip install phasegate[llm]``.

The persona sends the task prompt plus the (bounded) contents of the phase's files and of
the files its findings point at, and asks for a JSON answer of edits
(:mod:`phasegate.personas.edits`). The answer is validated as a whole — one hostile or
impossible edit refuses it — and applied all-or-nothing, with the previous contents
backed up. Any error (HTTP, timeout, invalid JSON, refused path, missing search text)
gives ``ok=False`` and leaves the workspace untouched.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from phasegate.backups import BackupError, BackupRecorder
from phasegate.personas.base import Persona, PersonaContext, PersonaResult, PersonaTask
from phasegate.personas.edits import EditError, apply_edits, parse_answer, plan_edits
from phasegate.personas.prompt import artifact_files, build_prompt
from phasegate.workspace import PathOutsideWorkspace, Workspace

DUMMY_KEY = "sk-no-key-needed"

SYSTEM_PROMPT = """\
You change files in a software project to satisfy a quality gate.
Answer ONLY with one JSON object, no prose, in exactly this shape:
{"edits": [{"path": "relative/path", "content": "the complete new file"},
           {"path": "relative/path", "search": "exact text to find", "replace": "new text"}],
 "summary": "one sentence saying what you changed"}
Rules:
- "path" is relative to the workspace root, with forward slashes; never absolute, never
  "..", never inside .git/ or .phasegate/.
- Use "content" to create a file or rewrite a file you were shown in full.
- Use "search"/"replace" for a targeted change: "search" must appear exactly once in the
  file as shown. Files marked [truncated] may only be changed with search/replace.
- Give an empty "edits" list if nothing should change.
"""


class OpenAIOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, description="Model name, e.g. `gpt-4.1` or `qwen2.5-coder`.")
    base_url: str | None = Field(
        None, description="API base URL, e.g. `http://localhost:11434/v1`; default: OpenAI."
    )
    api_key_env: str | None = Field(
        "OPENAI_API_KEY",
        description="Environment variable holding the API key; when unset (local servers) "
        "a dummy key is sent.",
    )
    temperature: float | None = Field(0.2, ge=0.0, le=2.0)
    max_tokens: int | None = Field(None, gt=0, description="Cap on the answer's tokens.")
    timeout: float | None = Field(None, gt=0, description="Seconds per request.")
    max_retries: int = Field(2, ge=0, le=10, description="Retries on 429/5xx/connection errors.")
    max_file_bytes: int = Field(
        32_000, gt=0, description="Bytes of each file included; longer files are truncated."
    )
    max_context_bytes: int = Field(
        200_000, gt=0, description="Bytes of file contents included in total."
    )
    json_mode: bool = Field(
        True,
        description="Ask for `response_format: json_object`; retried without it when the "
        "server refuses the parameter.",
    )


def gather_context(
    task: PersonaTask, ws: Workspace, max_file_bytes: int, max_total: int
) -> tuple[str, set[str]]:
    """The files to show the model, bounded; returns the text and the truncated paths."""
    paths: list[str] = []
    for f in task.feedback:
        if f.path not in paths and not f.missing_file:
            paths.append(f.path)
    for p in artifact_files(task, ws):
        if p not in paths:
            paths.append(p)
    parts: list[str] = []
    truncated: set[str] = set()
    total = 0
    for rel in paths:
        try:
            data = ws.abspath(rel).read_bytes()
        except (OSError, PathOutsideWorkspace):
            continue
        if b"\x00" in data[:8192]:
            continue  # binary
        budget = min(max_file_bytes, max_total - total)
        if budget <= 0:
            parts.append(f"--- {rel} [not shown: context budget used up]")
            truncated.add(rel)
            continue
        shown = data[:budget]
        mark = ""
        if len(data) > budget:
            truncated.add(rel)
            mark = f" [truncated: first {budget} of {len(data)} bytes]"
        total += len(shown)
        text = shown.decode("utf-8", errors="replace")
        parts.append(f"--- {rel}{mark}\n{text}\n--- end of {rel}")
    return "\n".join(parts), truncated


class OpenAIPersona(Persona):
    kind = "openai"
    runs_workspace_code = True  # it sends workspace files to a service the workspace names
    Options = OpenAIOptions

    def describe(self) -> str:
        opts = self.options
        model = opts.model if isinstance(opts, OpenAIOptions) else "?"
        return f"asks the model {model}"

    async def run(self, task: PersonaTask, ctx: PersonaContext) -> PersonaResult:
        if not ctx.trusted:
            return PersonaResult(
                ok=False, error="untrusted workspace: the openai persona calls a configured service"
            )
        return await asyncio.to_thread(self._run_sync, task, ctx)

    def _messages(self, task: PersonaTask, ctx: PersonaContext) -> tuple[list[Any], set[str]]:
        opts = self.options
        assert isinstance(opts, OpenAIOptions)
        files, truncated = gather_context(
            task, ctx.workspace, opts.max_file_bytes, opts.max_context_bytes
        )
        user = build_prompt(task, ctx.workspace)
        if files:
            user += "\nContents of the files:\n" + files + "\n"
        user += "\nAnswer with the JSON object only."
        return [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": user},
        ], truncated

    def _complete(self, messages: list[Any], timeout: float) -> str:
        """One chat completion; raises ``RuntimeError`` with a clear message on failure."""
        try:
            import openai
        except ImportError:  # pragma: no cover - the extra is missing
            raise RuntimeError(
                "the openai persona needs the openai package: pip install 'phasegate[llm]'"
            ) from None
        opts = self.options
        assert isinstance(opts, OpenAIOptions)
        key = os.environ.get(opts.api_key_env) if opts.api_key_env else None
        client = openai.OpenAI(
            api_key=key or DUMMY_KEY,
            base_url=opts.base_url,
            timeout=timeout,
            max_retries=opts.max_retries,
        )
        kwargs: dict[str, Any] = {"model": opts.model, "messages": messages, "stream": False}
        if opts.temperature is not None:
            kwargs["temperature"] = opts.temperature
        if opts.max_tokens is not None:
            kwargs["max_tokens"] = opts.max_tokens
        json_mode = opts.json_mode
        create: Any = client.chat.completions.create  # kwargs built at run time
        try:
            while True:
                try:
                    resp = create(
                        **kwargs,
                        **({"response_format": {"type": "json_object"}} if json_mode else {}),
                    )
                    break
                except openai.BadRequestError as exc:
                    if json_mode and "response_format" in str(exc):
                        json_mode = False  # the server does not support JSON mode
                        continue
                    raise
        except openai.APITimeoutError:
            raise RuntimeError(f"no answer within {timeout:g}s") from None
        except openai.APIStatusError as exc:
            raise RuntimeError(f"HTTP {exc.status_code}: {_api_message(exc)}") from None
        except openai.APIConnectionError as exc:
            raise RuntimeError(f"cannot reach {opts.base_url or 'the API'}: {exc}") from None
        except openai.OpenAIError as exc:
            raise RuntimeError(str(exc)) from None
        finally:
            client.close()
        if not resp.choices:
            raise RuntimeError("the answer has no choices")
        choice = resp.choices[0]
        content = choice.message.content
        if not content:
            raise RuntimeError(f"the answer is empty (finish_reason={choice.finish_reason})")
        if choice.finish_reason == "length":
            raise RuntimeError("the answer was cut off at max_tokens")
        return str(content)

    def _run_sync(self, task: PersonaTask, ctx: PersonaContext) -> PersonaResult:
        opts = self.options
        assert isinstance(opts, OpenAIOptions)
        timeout = opts.timeout or ctx.timeout
        messages, truncated = self._messages(task, ctx)
        where = f"{self.name} ({opts.model})"
        try:
            text = self._complete(messages, timeout)
        except RuntimeError as exc:
            return PersonaResult(ok=False, error=f"{where}: {exc}")
        try:
            answer = parse_answer(text)
            planned = plan_edits(ctx.workspace, answer, partial_views=truncated)
            recorder = ctx.backups or BackupRecorder.for_session(
                ctx.workspace, task.session_id, f"{task.phase}-{self.name}-it{task.iteration}"
            )
            changed = apply_edits(ctx.workspace, planned, recorder if planned else None)
        except EditError as exc:
            return PersonaResult(ok=False, error=f"{where}: answer refused, nothing written: {exc}")
        except (OSError, BackupError, PathOutsideWorkspace) as exc:
            return PersonaResult(ok=False, error=f"{where}: could not apply the edits: {exc}")
        ctx.written.extend(changed)
        return PersonaResult(
            ok=True,
            files_changed=changed,
            message=answer.summary or (f"{len(changed)} file(s) changed" if changed else ""),
        )


def _api_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
    return str(getattr(exc, "message", exc))
