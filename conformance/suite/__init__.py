"""The client-conformance suite a user runs:

pytest --pyargs conformance.suite --client-cmd "node upload.js {file}"
kaltura-conformance run --client-cmd "node upload.js {file}"
"""
