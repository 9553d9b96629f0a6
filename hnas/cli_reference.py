"""The CLI reference (docs/cli.md), generated from the commands' signatures and docstrings:
    python -m hnas.cli_reference > docs/cli.md
A test fails when docs/cli.md and the code disagree."""
import inspect


def _flag(name, parameter, first):
    if first and parameter.default is inspect.Parameter.empty:
        return name.upper()
    if parameter.kind is inspect.Parameter.VAR_KEYWORD:
        return "[--section.key VALUE ...]"
    if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
        return f"{name.upper()}..."
    if parameter.default is inspect.Parameter.empty:
        return f"--{name} {name.upper()}"
    return f"[--{name} {parameter.default!r}]"


def cli_reference():
    from hnas.cli import COMMANDS
    lines = ["# hnas command reference", "",
             "Generated from `hnas/cli.py` by `python -m hnas.cli_reference > docs/cli.md`.",
             "Every argument may also be given by name (`--config CONFIG`). Commands that take",
             "`--section.key VALUE` override any recipe key. A user error prints one `hnas: error: ...`",
             "line and exits with status 2.", ""]
    for name, function in COMMANDS.items():
        parameters = inspect.signature(function).parameters
        usage = " ".join(_flag(p, parameters[p], i == 0) for i, p in enumerate(parameters))
        lines += [f"## hnas {name}", "", "```", f"hnas {name} {usage}", "```", "",
                  inspect.cleandoc(function.__doc__ or ""), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(cli_reference(), end="")
