// sipp (Debian's sip-tester) scenarios that answer Parlor's calls as SIP endpoints would, for the
// e2e tests and the benchmark: each answers one INVITE, and sipp exits 0 only when every message
// came as scripted. sipp fills in the bracketed keywords.

/** The SDP sipp answers with: PCMU and telephone-event, in the given direction. */
export function sippSdp(direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive'): string {
  return `v=0
o=sipp 1 1 IN IP4 [local_ip]
s=-
c=IN IP4 [local_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=${direction}
`;
}

/** A response to the last request, with our To tag. */
function response(status: string, body = ''): string {
  return `<send><![CDATA[
SIP/2.0 ${status}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
${body ? 'Content-Type: application/sdp\n' : ''}Content-Length: [len]

${body}]]></send>`;
}

/** A request of the dialog from sipp's side (BYE, re-INVITE), CSeq `cseq`. */
function request(method: string, cseq: number, body = ''): string {
  return `<send retrans="500"><![CDATA[
${method} [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: <sip:parlor@[remote_ip]:[remote_port]>[peer_tag_param]
[last_Call-ID:]
CSeq: ${cseq} ${method}
Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
${body ? 'Content-Type: application/sdp\n' : ''}Content-Length: [len]

${body}]]></send>`;
}

function ack(cseq: number): string {
  return `<send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: <sip:parlor@[remote_ip]:[remote_port]>[peer_tag_param]
[last_Call-ID:]
CSeq: ${cseq} ACK
Max-Forwards: 70
Content-Length: 0

]]></send>`;
}

const answer = `<recv request="INVITE" rrs="true"/>
${response('200 OK', sippSdp('sendrecv'))}
<recv request="ACK"/>`;

const byeFromParlor = `<recv request="BYE"/>
${response('200 OK')}`;

/** Rings (after `delayMs`) until Parlor cancels, then ends the INVITE with 487. */
function ringsUntilCancelled(delayMs: number): string {
  return `<recv request="INVITE"/>
${delayMs > 0 ? `<pause milliseconds="${delayMs}"/>` : ''}
${response('180 Ringing')}
<recv request="CANCEL"/>${response('200 OK')}
<send><![CDATA[
SIP/2.0 487 Request Terminated
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
CSeq: 1 INVITE
Content-Length: 0

]]></send>
<recv request="ACK"/>`;
}

/** The scenarios, by name: the body of sipp's `<scenario>`. */
export const sippScenarios = {
  busy: `<recv request="INVITE"/>${response('486 Busy Here')}<recv request="ACK"/>`,
  declined: `<recv request="INVITE"/>${response('603 Decline')}<recv request="ACK"/>`,
  noAnswer: ringsUntilCancelled(0),
  /** Sends nothing for 1.5 s, then rings: a CANCEL before its 180 fails the scenario (RFC 3261 §9.1). */
  slowToRing: ringsUntilCancelled(1500),
  digest: `<recv request="INVITE"/>
<send><![CDATA[
SIP/2.0 401 Unauthorized
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
WWW-Authenticate: Digest realm="parlor-test", nonce="8b1a2d6f0c", algorithm=MD5
Content-Length: 0

]]></send>
<recv request="ACK"/>
<recv request="INVITE" rrs="true">
  <action><verifyauth assign_to="authValid" username="alice" password="wonderland"/></action>
</recv>
<nop test="authValid" next="accepted"/>
${response('403 Forbidden')}
<recv request="ACK" next="end"/>
<label id="accepted"/>
${response('200 OK', sippSdp('sendrecv'))}
<recv request="ACK"/>
${byeFromParlor}
<label id="end"/>`,
  hangsUp: `${answer}
<pause milliseconds="1500"/>
${request('BYE', 2)}
<recv response="200"/>`,
  hold: `${answer}
<pause milliseconds="1000"/>
${request('INVITE', 2, sippSdp('sendonly'))}
<recv response="200"/>
${ack(2)}
<pause milliseconds="1000"/>
${request('INVITE', 3, sippSdp('sendrecv'))}
<recv response="200"/>
${ack(3)}
<pause milliseconds="1000"/>
${request('BYE', 4)}
<recv response="200"/>`,
  /** Answers and waits for Parlor's BYE (the benchmark's far end, run with `-rtp_echo`). */
  answersUntilBye: `${answer}
${byeFromParlor}`,
} as const;

export type SippScenarioName = keyof typeof sippScenarios;

/** A scenario as the XML file sipp reads (`-sf`). */
export function sippScenarioFile(name: SippScenarioName): string {
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="${name}">\n${sippScenarios[name]}\n</scenario>\n`;
}
