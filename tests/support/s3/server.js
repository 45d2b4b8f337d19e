#!/usr/bin/env node
// An S3-compatible server on loopback for the blob store tests: s3rver (npm) with its
// bucket, plus what s3rver 3.7 leaves out and the tests need real S3 to do:
//   - every Signature V4 request is checked (header and presigned query alike), written
//     here from AWS's description of the algorithm; s3rver itself accepts any V4
//     signature of a known key. Expiry of presigned links stays s3rver's own check.
//   - AbortMultipartUpload (DELETE ?uploadId=), which s3rver answers 405.
//   - steering for the tests: POST /_sim/fail-part?number=N makes the next upload of
//     part N answer 500; GET /_sim/uploads counts multipart uploads still open.
// Usage: node server.js --dir=DIR [--bucket=NAME] [--port=0]. Prints `port=N` when ready.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const S3rver = require('s3rver');
const S3Error = require('s3rver/lib/models/error');
const AWSAccount = require('s3rver/lib/models/account');

const args = Object.fromEntries(
  process.argv.slice(2).map(a => {
    const [k, ...v] = a.replace(/^--/, '').split('=');
    return [k, v.join('=')];
  }),
);
const dir = args.dir;
const bucket = args.bucket || 'vetline';
if (!dir) {
  console.error('usage: server.js --dir=DIR [--bucket=NAME] [--port=0]');
  process.exit(2);
}

const hmac = (key, text) => crypto.createHmac('sha256', key).update(text, 'utf8').digest();
const sha256Hex = text => crypto.createHash('sha256').update(text, 'utf8').digest('hex');
// RFC 3986 unreserved characters stay, everything else is %XX (upper case).
const encode = s =>
  encodeURIComponent(s).replace(/[!'()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase());

function parseAuthorization(header) {
  const m = /^AWS4-HMAC-SHA256 (.*)$/.exec(header);
  if (!m) return null;
  const fields = {};
  for (const part of m[1].split(',')) {
    const [k, ...v] = part.trim().split('=');
    fields[k] = v.join('=');
  }
  return fields;
}

// The signature AWS would compute for this request, or an S3Error.
function checkSignature(req) {
  const [rawPath, rawQuery = ''] = req.url.split(/\?(.*)/s);
  const pairs = rawQuery === '' ? [] : rawQuery.split('&').map(p => {
    const i = p.indexOf('=');
    const k = i < 0 ? p : p.slice(0, i);
    const v = i < 0 ? '' : p.slice(i + 1);
    return [decodeURIComponent(k), decodeURIComponent(v.replace(/\+/g, '%20'))];
  });
  const query = Object.fromEntries(pairs);
  let credential, signedHeaders, signature, date, payload;
  if (req.headers.authorization) {
    const f = parseAuthorization(req.headers.authorization);
    if (!f || !f.Credential || !f.SignedHeaders || !f.Signature) {
      return new S3Error('AuthorizationHeaderMalformed', 'The authorization header is malformed.');
    }
    ({ Credential: credential, SignedHeaders: signedHeaders, Signature: signature } = f);
    date = req.headers['x-amz-date'];
    payload = req.headers['x-amz-content-sha256'];
  } else if (query['X-Amz-Algorithm'] === 'AWS4-HMAC-SHA256') {
    credential = query['X-Amz-Credential'];
    signedHeaders = query['X-Amz-SignedHeaders'];
    signature = query['X-Amz-Signature'];
    date = query['X-Amz-Date'];
    payload = 'UNSIGNED-PAYLOAD';
  } else {
    return null;  // not V4: s3rver's own checks apply
  }
  if (!credential || !signedHeaders || !signature || !date || !payload) {
    return new S3Error('AccessDenied', 'Signature V4 parameters are missing.');
  }
  const [keyId, day, region, service, terminator] = credential.split('/');
  const account = AWSAccount.registry.get(keyId);
  if (!account) {
    return new S3Error('InvalidAccessKeyId',
        'The AWS Access Key Id you provided does not exist in our records.');
  }
  if (terminator !== 'aws4_request' || day !== date.slice(0, 8)) {
    return new S3Error('AuthorizationHeaderMalformed', 'The credential scope is malformed.');
  }
  const canonicalQuery = pairs
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [encode(k), encode(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const names = signedHeaders.split(';');
  const canonicalHeaders = names
    .map(n => `${n}:${String(req.headers[n] || '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const canonicalRequest = [req.method, rawPath, canonicalQuery, canonicalHeaders, signedHeaders,
                            payload].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', date, [day, region, service, 'aws4_request'].join('/'),
                        sha256Hex(canonicalRequest)].join('\n');
  let key = hmac('AWS4' + account.accessKeys.get(keyId), day);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, 'aws4_request');
  const expected = crypto.createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  if (expected.length !== signature.length ||
      !crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
    return new S3Error('SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided.');
  }
  return null;
}

const server = new S3rver({
  address: '127.0.0.1',
  port: Number(args.port || 0),
  directory: dir,
  silent: true,
  configureBuckets: [{ name: bucket }],
});
const uploadsDir = () => server.store.getResourcePath(bucket, undefined, 'uploads');
const failParts = new Set();

const countUploads = () => {
  try {
    return fs.readdirSync(uploadsDir()).length;
  } catch (e) {
    return 0;
  }
};

// Runs before all of s3rver's own middleware.
server.middleware.unshift(async (ctx, next) => {
  if (ctx.path === '/_sim/fail-part' && ctx.method === 'POST') {
    failParts.add(String(ctx.query.number));
    ctx.status = 204;
    return;
  }
  if (ctx.path === '/_sim/uploads' && ctx.method === 'GET') {
    ctx.body = { open: countUploads() };
    return;
  }
  const bad = checkSignature(ctx.req);
  if (bad) throw bad;
  if ('uploadId' in ctx.query && ctx.method === 'PUT' && failParts.delete(String(ctx.query.partNumber))) {
    throw new S3Error('InternalError', 'We encountered an internal error. Please try again.');
  }
  if ('uploadId' in ctx.query && ctx.method === 'DELETE') {
    const id = String(ctx.query.uploadId);
    const target = path.join(uploadsDir(), path.basename(id));
    if (!/^[0-9a-f]+$/.test(id) || !fs.existsSync(target)) {
      throw new S3Error('NoSuchUpload', 'The specified upload does not exist.');
    }
    fs.rmSync(target, { recursive: true, force: true });
    ctx.status = 204;
    return;
  }
  return next();
});

server.run().then(
  address => process.stdout.write(`port=${address.port}\n`),
  err => {
    console.error(err);
    process.exit(1);
  },
);
