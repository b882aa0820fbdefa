#!/bin/sh
# The reference uploader in POSIX sh, with curl and dd: proof that the suite judges a client
# in any language by what it puts on the wire.
#
# Reads KALTURA_FILE, KALTURA_SERVICE_URL, KALTURA_KS, KALTURA_UPLOAD_TOKEN_ID and
# KALTURA_CHUNK_SIZE (as `CommandClient` sets them). Cuts the file with dd and uploads it to
# the given token, sequentially:
#   1. the opening: chunk 0, resume=false finalChunk=false resumeAt=0 (a file of one chunk,
#      or of 0 bytes, is one request with finalChunk=true instead);
#   2. the middles: resume=true finalChunk=false, each at its own resumeAt;
#   3. the close: the last chunk, resume=true finalChunk=true, resumeAt > 0, re-sent after a
#      pause while the server answers UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE; when its answer
#      is lost (or a re-send is refused INVALID_STATUS), uploadToken.get says whether it took.
# A request that fails transiently (curl error, HTTP not 200, a Kaltura error object) is
# re-sent with the same resumeAt and bytes, a bounded number of times with a pause. Answers
# are JSON (format=1); an error object is found by grepping KalturaAPIException. Success
# (exit 0) only once uploadToken.get shows FULL_UPLOAD (2) with every byte; else exit 1.
set -u
set -f # form fields are split on spaces below, and must never be globbed

: "${KALTURA_FILE:?}" "${KALTURA_SERVICE_URL:?}" "${KALTURA_KS:?}" "${KALTURA_UPLOAD_TOKEN_ID:?}"
CHUNK=${KALTURA_CHUNK_SIZE:-4194304}
ATTEMPTS=5        # sends of one request at most
CLOSE_ATTEMPTS=30 # sends of the close at most
PAUSE=0.1         # seconds between two sends of the same request
MAX_TIME=30       # seconds curl may take for one request
FATAL="UPLOAD_TOKEN_NOT_FOUND INVALID_KS MISSING_KS SERVICE_FORBIDDEN UPLOAD_TOKEN_CANNOT_RESUME
MISSING_MANDATORY_PARAMETER UPLOAD_PASSED_MAX_RESUME_TIME_ALLOWED UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD"
ACTIONS="${KALTURA_SERVICE_URL%/}/api_v3/service/uploadtoken/action"

WORK=$(mktemp -d) || exit 1
trap 'rm -rf "$WORK"' EXIT
trap 'exit 1' HUP INT TERM
printf '%s' "$KALTURA_KS" >"$WORK/ks" # sent as `ks=<file`: never on a command line
SIZE=$(wc -c <"$KALTURA_FILE" | tr -d ' ')

fail() {
    echo "upload failed: $*" >&2
    exit 1
}

# call ACTION [CURL-ARG...]: one uploadToken call. Sets CODE: empty on success, else the
# Kaltura error code, TRANSPORT or HTTP_<status>. The answer is left in $WORK/answer.
call() {
    action=$1
    shift
    http=$(curl -sS --max-time "$MAX_TIME" -o "$WORK/answer" -w '%{http_code}' \
        -F "ks=<$WORK/ks" --form-string format=1 \
        --form-string "uploadTokenId=$KALTURA_UPLOAD_TOKEN_ID" "$@" \
        "$ACTIONS/$action" 2>>"$WORK/curl.log") || {
        CODE=TRANSPORT
        return
    }
    if [ "$http" != 200 ]; then
        CODE="HTTP_$http"
    elif grep -q KalturaAPIException "$WORK/answer"; then
        CODE=$(sed -n 's/.*"code":"\([^"]*\)".*/\1/p' "$WORK/answer")
        CODE=${CODE:-UNKNOWN_ERROR}
    else
        CODE=
    fi
}

# upload FIELD...: one data request carrying $WORK/chunk as a named file part.
upload() {
    form=
    for field in "$@"; do
        form="$form --form-string $field"
    done
    # shellcheck disable=SC2086 # fields are name=value without spaces
    call upload $form -F "fileData=@$WORK/chunk;filename=chunk;type=application/octet-stream"
}

is_fatal() {
    for code in $FATAL; do
        [ "$1" = "$code" ] && return 0
    done
    return 1
}

# cut INDEX: chunk number INDEX of the file into $WORK/chunk.
cut_chunk() {
    dd if="$KALTURA_FILE" of="$WORK/chunk" bs="$CHUNK" skip="$1" count=1 2>/dev/null ||
        fail "cannot read chunk $1 of $KALTURA_FILE"
}

# send FIELD...: upload, re-sent after a pause on a transient failure.
send() {
    attempt=1
    while :; do
        upload "$@"
        [ -z "$CODE" ] && return 0
        is_fatal "$CODE" && fail "$* refused: $CODE"
        [ "$attempt" -ge "$ATTEMPTS" ] && fail "$* failed $attempt times: $CODE"
        attempt=$((attempt + 1))
        sleep "$PAUSE"
    done
}

# is_full: uploadToken.get shows FULL_UPLOAD holding every byte.
is_full() {
    call get
    [ -z "$CODE" ] || return 1
    status=$(sed -n 's/.*"status":\([0-9]*\).*/\1/p' "$WORK/answer")
    held=$(sed -n 's/.*"uploadedFileSize":"\{0,1\}\([0-9]*\).*/\1/p' "$WORK/answer")
    [ "$status" = 2 ] && [ "$held" = "$SIZE" ]
}

# close RESUME_AT: the closing request, re-sent while the server still assembles.
close() {
    attempt=1
    while :; do
        upload resume=true finalChunk=true "resumeAt=$1"
        [ -z "$CODE" ] && return 0
        refused=$CODE
        case $refused in
        UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD | TRANSPORT | HTTP_*)
            is_full && return 0 # an earlier close whose answer was lost did it
            ;;
        esac
        is_fatal "$refused" && fail "the close was refused: $refused"
        [ "$attempt" -ge "$CLOSE_ATTEMPTS" ] && fail "the close failed $attempt times: $refused"
        attempt=$((attempt + 1))
        sleep "$PAUSE"
    done
}

verify() {
    attempt=1
    until is_full; do
        [ "$attempt" -ge "$ATTEMPTS" ] && fail "the token is not FULL_UPLOAD with $SIZE bytes"
        attempt=$((attempt + 1))
        sleep "$PAUSE"
    done
}

if [ "$SIZE" -le "$CHUNK" ]; then
    cut_chunk 0
    send resume=false finalChunk=true resumeAt=0
else
    last=$(((SIZE - 1) / CHUNK))
    cut_chunk 0
    send resume=false finalChunk=false resumeAt=0
    index=1
    while [ "$index" -lt "$last" ]; do
        cut_chunk "$index"
        send resume=true finalChunk=false "resumeAt=$((index * CHUNK))"
        index=$((index + 1))
    done
    cut_chunk "$last"
    close "$((last * CHUNK))"
fi
verify
