"""Regenerate docs/cli.md from the parser itself: python docs/_make_cli_md.py > docs/cli.md"""

from eqsolve.cli import build_parser

parser = build_parser()
print("# Command-line reference\n")
print("Generated from `eqsolve --help` by `python docs/_make_cli_md.py > docs/cli.md`;")
print("a test checks that this page matches the parser.\n")
print("```text")
print(parser.format_help().rstrip())
print("```\n")
sub = next(a for a in parser._actions if a.dest == "command")
for name, command in sub.choices.items():
    print(f"## eqsolve {name}\n")
    print("```text")
    print(command.format_help().rstrip())
    print("```\n")
