// A parallel chunked uploader on Kaltura's official Node.js client (npm `kaltura-client`):
// what an integrator writes with it, judged by the suite like any client (by the wire).
//
// Reads KALTURA_FILE, KALTURA_SERVICE_URL, KALTURA_KS, KALTURA_UPLOAD_TOKEN_ID,
// KALTURA_CHUNK_SIZE and KALTURA_CONCURRENCY (as `CommandClient` sets them), and uploads
// the file to the given token in the three stages of uploadToken.upload:
//   1. the opening: chunk 0, resume=false finalChunk=false resumeAt=0 (a file of one chunk,
//      or of 0 bytes, is one request with finalChunk=true instead);
//   2. the middles, KALTURA_CONCURRENCY at a time: resume=true finalChunk=false, each at its
//      own resumeAt; a failed one is re-sent (same bytes, same resumeAt), a few times;
//   3. the close: the last chunk, resume=true finalChunk=true, re-sent after a pause while
//      the server answers UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE; when its answer is lost
//      (or a re-send is refused INVALID_STATUS), uploadToken.get says whether it took.
// Exit 0 only once uploadToken.get shows FULL_UPLOAD (2) with every byte.
"use strict";
const fs = require("fs");
const kaltura = require("kaltura-client");

const env = (name) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const file = fs.readFileSync(env("KALTURA_FILE"));
const tokenId = env("KALTURA_UPLOAD_TOKEN_ID");
const chunk = Number(process.env.KALTURA_CHUNK_SIZE || 4194304);
const concurrency = Math.max(1, Number(process.env.KALTURA_CONCURRENCY || 1));
const ATTEMPTS = 5; // sends of one request at most
const CLOSE_ATTEMPTS = 30; // sends of the close at most
const PAUSE_MS = 100; // between two sends of the same request
const FATAL = new Set([
  "UPLOAD_TOKEN_NOT_FOUND", "INVALID_KS", "MISSING_KS", "SERVICE_FORBIDDEN",
  "UPLOAD_TOKEN_CANNOT_RESUME", "MISSING_MANDATORY_PARAMETER",
  "UPLOAD_PASSED_MAX_RESUME_TIME_ALLOWED", "UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD",
]);

const config = new kaltura.Configuration();
config.serviceUrl = env("KALTURA_SERVICE_URL").replace(/\/+$/, "");
config.timeout = 30000;
const client = new kaltura.Client(config);
client.setKs(env("KALTURA_KS"));

const pause = () => new Promise((resolve) => setTimeout(resolve, PAUSE_MS));

// One call: {ok: true, result} or {ok: false, code}: the Kaltura error's code, or
// TRANSPORT when there was no Kaltura answer (the library hands over axios's error then:
// a reset, a lost answer, an HTTP error status).
function call(request) {
  return new Promise((resolve) => {
    request
      .completion((success, answer) => {
        if (success) resolve({ ok: true, result: answer });
        else if (!answer || answer.isAxiosError || !answer.code) resolve({ ok: false, code: "TRANSPORT" });
        else resolve({ ok: false, code: answer.code });
      })
      .execute(client);
  });
}

const upload = (start, end, resume, final) =>
  call(kaltura.services.uploadToken.upload(
    tokenId, file.subarray(start, end), resume, final, start));

async function send(start, end, resume, final) {
  for (let attempt = 1; ; attempt++) {
    const answer = await upload(start, end, resume, final);
    if (answer.ok) return;
    if (FATAL.has(answer.code)) throw new Error(`resumeAt=${start} refused: ${answer.code}`);
    if (attempt >= ATTEMPTS) throw new Error(`resumeAt=${start} failed ${attempt} times: ${answer.code}`);
    await pause();
  }
}

async function isFull() {
  const answer = await call(kaltura.services.uploadToken.get(tokenId));
  return answer.ok && answer.result.status === 2 &&
    Number(answer.result.uploadedFileSize) === file.length;
}

async function close(start) {
  for (let attempt = 1; ; attempt++) {
    const answer = await upload(start, file.length, true, true);
    if (answer.ok) return;
    const lost = answer.code === "TRANSPORT" || answer.code === "UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD";
    if (lost && await isFull()) return; // an earlier close whose answer was lost did it
    if (FATAL.has(answer.code)) throw new Error(`the close was refused: ${answer.code}`);
    if (attempt >= CLOSE_ATTEMPTS) throw new Error(`the close failed ${attempt} times: ${answer.code}`);
    await pause();
  }
}

async function main() {
  if (file.length <= chunk) {
    await send(0, file.length, false, true);
  } else {
    const last = Math.floor((file.length - 1) / chunk);
    await send(0, chunk, false, false);
    let next = 1;
    const worker = async () => {
      while (next < last) {
        const index = next++;
        await send(index * chunk, (index + 1) * chunk, true, false);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    await close(last * chunk);
  }
  for (let attempt = 1; !(await isFull()); attempt++) {
    if (attempt >= ATTEMPTS) throw new Error(`the token is not FULL_UPLOAD with ${file.length} bytes`);
    await pause();
  }
}

main().then(
  () => process.exit(0),
  (error) => { console.error(`upload failed: ${error.message}`); process.exit(1); },
);
