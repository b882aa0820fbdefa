"""The larger `kaltura-conformance` commands, one module each (`cli.py` dispatches)."""
