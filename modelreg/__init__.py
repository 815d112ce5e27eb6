"""modelreg: a Git-native registry for model configurations.

The CLI lives in modelreg.cli; services read serving configs through the
runtime library (modelreg.runtime), which imports no git, typer, rich or jsonschema.
"""
