"""rfc4475.py: the valid messages of RFC 4475 s.3.1.1 (SIP torture tests),
written out for the integration tests and the hostile-input benchmark.

Each entry of VALID is (name, kind, bytes): kind is "request" or
"response".  Lines end in CRLF; Content-Length is computed from the body
(the RFC's values are for its own bodies).  Non-printable bytes are
written as escapes, as the RFC shows them with <hex> markers.
"""

SDP = (b"v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.3\r\ns=-\r\n"
       b"c=IN IP4 192.0.2.4\r\nt=0 0\r\nm=audio 49217 RTP/AVP 0 12\r\n"
       b"m=video 3227 RTP/AVP 31\r\na=rtpmap:31 LPC\r\n")


def _msg(lines, body=b"", length=True):
    """Join header lines with CRLF; add Content-Length when length is set
    and no line names one."""
    head = b"\r\n".join(lines)
    if length:
        head += b"\r\nContent-Length: %d" % len(body)
    return head + b"\r\n\r\n" + body


def _wsinv():
    # s.3.1.1.1: white space and line folding everywhere it is allowed.
    lines = [
        b"INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0",
        b"TO :",
        b" sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
        b"from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>",
        b"  ;",
        b"  tag = 98asjd8",
        b"MaX-fOrWaRdS: 0068",
        b"Call-ID: wsinv.ndaksdj@192.0.2.1",
        b"Content-Length   : %d" % len(SDP),
        b"cseq: 0009",
        b"  INVITE",
        b"Via  : SIP  /   2.0",
        b" /UDP",
        b"    192.0.2.2;branch=390skdjuw",
        b"s :",
        b"NewFangledHeader:   newfangled value",
        b" continued newfangled value",
        b"UnknownHeaderWithUnusualValue: ;;,,;;,;",
        b"Content-Type: application/sdp",
        b"Route:",
        b" <sip:services.example.com;lr;unknownwith=value;unknown-no-value>",
        b"v:  SIP  / 2.0  / TCP     spindle.example.com   ;",
        b"  branch  =   z9hG4bK9ikj8  ,",
        b" SIP  /    2.0   / UDP  192.168.255.111   ; branch=",
        b" z9hG4bK30239",
        b"m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =",
        b"      newvalue ;",
        b"  secondparam ; q = 0.33",
    ]
    return _msg(lines, SDP, length=False)


def _intmeth():
    # s.3.1.1.2: every token character, escaped control bytes in a quoted
    # string (BEL, NUL, DEL), UTF-8 in a parameter and a header value.
    meth = b"!interesting-Method0123456789_*+`.%indeed'~"
    lines = [
        meth + b" sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:"
        b"&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0",
        b"Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~",
        b"To: \"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\" "
        b"<sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>",
        b"From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>"
        b";fromParam''~+*_!.-%=\"" + "работающий".encode() + b"\""
        b";tag=_token~1'+`*%!-.",
        b"Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{",
        b"CSeq: 139122385 " + meth,
        b"Max-Forwards: 255",
        b"extensionHeader-!.%*+_`'~:" + "\ufeff大停電".encode(),
    ]
    return _msg(lines)


def _esc01():
    # s.3.1.1.3: % escapes in URIs and parameters.
    lines = [
        b"INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0",
        b"To: sip:%75se%72@example.com",
        b"From: <sip:I%20have%20spaces@example.net>;tag=938",
        b"Max-Forwards: 87",
        b"i: esc01.239409asdfakjkn23onasd0-3234",
        b"CSeq: 234234 INVITE",
        b"Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw",
        b"C: application/sdp",
        b"Contact:",
        b"  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>",
    ]
    return _msg(lines, SDP)


def _escnull():
    # s.3.1.1.4: an escaped NUL (%00) in URIs.
    lines = [
        b"REGISTER sip:example.com SIP/2.0",
        b"To: sip:null-%00-null@example.com",
        b"From: sip:null-%00-null@example.com;tag=839923423",
        b"Max-Forwards: 70",
        b"Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd",
        b"CSeq: 14398234 REGISTER",
        b"Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw",
        b"Contact: <sip:%00@host5.example.com>",
        b"Contact: <sip:%00%00@host5.example.com>",
        b"L:0",
    ]
    return _msg(lines, length=False)


def _esc02():
    # s.3.1.1.5: % escapes where they are not escapes (method, header name).
    lines = [
        b"RE%47IST%45R sip:registrar.example.com SIP/2.0",
        b"To: \"%Z%45\" <sip:resource@example.com>",
        b"From: \"%Z%45\" <sip:resource@example.com>;tag=f232jadfj23",
        b"Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf",
        b"Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209793",
        b"CSeq: 29344 RE%47IST%45R",
        b"Max-Forwards: 70",
        b"Contact: <sip:alias1@host1.example.com>",
        b"C%6Fntact: <sip:alias2@host2.example.com>",
        b"Contact: <sip:alias3@host3.example.com>",
        b"l: 0",
    ]
    return _msg(lines, length=False)


def _lwsdisp():
    # s.3.1.1.6: no white space between display name and '<'.
    lines = [
        b"OPTIONS sip:user@example.com SIP/2.0",
        b"To: sip:user@example.com",
        b"From: caller<sip:caller@example.com>;tag=323",
        b"Max-Forwards: 70",
        b"Call-ID: lwsdisp.1234abcd@funky.example.com",
        b"CSeq: 60 OPTIONS",
        b"Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw",
        b"l: 0",
    ]
    return _msg(lines, length=False)


def _longreq():
    # s.3.1.1.7: long values everywhere and many Via header fields in
    # long, compact and mixed-case forms.
    lines = [
        b"INVITE sip:user@example.com SIP/2.0",
        b"To: \"I have a user name of " + b"extreme" * 70 +
        b" proportion\"<sip:user@example.com:6000;unknownparam1=very"
        b"long" * 20 + b"value;longparam" + b"name" * 25 + b"=shortvalue;"
        b"very" * 25 + b"longParameterNameWithNoValue>",
        b"F: sip:" + b"amazinglylongcallername" * 5 + b"@example.net"
        b";tag=12" + b"982" * 20 + b"424;unknownheaderparam" + b"name" * 20 +
        b"=unknowheaderparamvalue" + b"long" * 20 +
        b";unknownValuelessparamname" + b"long" * 20,
        b"Call-ID: longreq.one" + b"really" * 35 + b"longcallid",
        b"CSeq: 3882340 INVITE",
        b"Unknown-" + b"Long" * 30 + b"-Name: unknown-" + b"long" * 30 +
        b"-value; unknown-" + b"long" * 30 + b"-parameter-name = unknown-" +
        b"long" * 30 + b"-parameter-value",
        b"Via: SIP/2.0/TCP sip33.example.com",
        b"v: SIP/2.0/TCP sip32.example.com",
        b"V: SIP/2.0/TCP sip31.example.com",
        b"Via: SIP/2.0/TCP sip30.example.com",
        b"ViA: SIP/2.0/TCP sip29.example.com",
        b"VIa: SIP/2.0/TCP sip28.example.com",
        b"VIA: SIP/2.0/TCP sip27.example.com",
        b"via: SIP/2.0/TCP sip26.example.com",
        b"viA: SIP/2.0/TCP sip25.example.com",
        b"vIa: SIP/2.0/TCP sip24.example.com",
        b"vIA: SIP/2.0/TCP sip23.example.com",
        b"V :  SIP/2.0/TCP sip22.example.com",
        b"v :  SIP/2.0/TCP sip21.example.com",
        b"V  : SIP/2.0/TCP sip20.example.com",
        b"v  : SIP/2.0/TCP sip19.example.com",
        b"Via: SIP/2.0/TCP sip18.example.com",
        b"Via: SIP/2.0/TCP sip17.example.com",
        b"Via: SIP/2.0/TCP sip16.example.com",
        b"Via: SIP/2.0/TCP sip15.example.com",
        b"Via: SIP/2.0/TCP sip14.example.com",
        b"Via: SIP/2.0/TCP sip13.example.com",
        b"Via: SIP/2.0/TCP sip12.example.com",
        b"Via: SIP/2.0/TCP sip11.example.com",
        b"Via: SIP/2.0/TCP sip10.example.com",
        b"Via: SIP/2.0/TCP sip9.example.com",
        b"Via: SIP/2.0/TCP sip8.example.com",
        b"Via: SIP/2.0/TCP sip7.example.com",
        b"Via: SIP/2.0/TCP sip6.example.com",
        b"Via: SIP/2.0/TCP sip5.example.com",
        b"Via: SIP/2.0/TCP sip4.example.com",
        b"Via: SIP/2.0/TCP sip3.example.com",
        b"Via: SIP/2.0/TCP sip2.example.com",
        b"Via: SIP/2.0/TCP sip1.example.com",
        b"Via: SIP/2.0/TCP host.example.com;received=192.0.2.5;branch="
        b"very" * 25 + b"longbranchvalue",
        b"Max-Forwards: 70",
        b"Contact: <sip:" + b"amazinglylongcallername" * 5 +
        b"@host5.example.net>",
        b"Content-Type: application/sdp",
    ]
    return _msg(lines, SDP)


def _dblreq():
    # s.3.1.1.8: a REGISTER whose Content-Length 0 leaves an INVITE after
    # it in the same datagram (to be ignored over UDP).
    reg = _msg([
        b"REGISTER sip:example.com SIP/2.0",
        b"To: sip:j.user@example.com",
        b"From: sip:j.user@example.com;tag=43251j3j324",
        b"Max-Forwards: 8",
        b"I: dblreq.0ha0isndaksdj99sdfafnl3lk233412",
        b"Contact: sip:j.user@host.example.com",
        b"CSeq: 8 REGISTER",
        b"Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492",
        b"Content-Length: 0",
    ], length=False)
    inv = _msg([
        b"INVITE sip:joe@example.com SIP/2.0",
        b"t: sip:joe@example.com",
        b"From: sip:caller@example.net;tag=141334",
        b"Max-Forwards: 8",
        b"Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15",
        b"CSeq: 8 INVITE",
        b"Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234",
        b"Content-Type: application/sdp",
    ], SDP)
    return reg + inv


def _semiuri():
    # s.3.1.1.9: a semicolon in the user part; a folded comma list.
    lines = [
        b"OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0",
        b"To: sip:j_user@example.com",
        b"From: sip:caller@example.org;tag=33242",
        b"Max-Forwards: 3",
        b"Call-ID: semiuri.0ha0isndaksdj",
        b"CSeq: 8 OPTIONS",
        b"Accept: application/sdp, application/pkcs7-mime,",
        b"        multipart/mixed, multipart/signed,",
        b"        message/sip, message/sipfrag",
        b"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw",
        b"l: 0",
    ]
    return _msg(lines, length=False)


def _transports():
    # s.3.1.1.10: Via transports known and unknown.
    lines = [
        b"OPTIONS sip:user@example.com SIP/2.0",
        b"To: sip:user@example.com",
        b"From: <sip:caller@example.com>;tag=323",
        b"Max-Forwards: 70",
        b"Call-ID:  transports.kijh4akdnaqjkwendsasfdj",
        b"Accept: application/sdp",
        b"CSeq: 60 OPTIONS",
        b"Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw",
        b"Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf",
        b"Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj",
        b"Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en",
        b"Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee",
        b"l: 0",
    ]
    return _msg(lines, length=False)


def _mpart01():
    # s.3.1.1.11: a multipart/mixed body with a binary part (opaque to a
    # proxy: it is forwarded as it is).
    sig = bytes((i * 73 + 41) % 256 for i in range(350))
    body = (b"--7a9cbec02ceef655\r\nContent-Type: text/plain\r\n"
            b"Content-Transfer-Encoding: binary\r\n\r\nHello\r\n"
            b"--7a9cbec02ceef655\r\nContent-Type: application/octet-stream"
            b"\r\nContent-Transfer-Encoding: binary\r\n\r\n" + sig +
            b"\r\n--7a9cbec02ceef655--\r\n")
    lines = [
        b"MESSAGE sip:kumiko@example.org SIP/2.0",
        b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb"
        b"11ee-1--d87543-;rport",
        b"Max-Forwards: 70",
        b"Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuLIK0YWVKZhK"
        b"v9Mj8UeXqkMVbnVq37CD+813gvYjcBUaZngQmXc9WNZSDNGCzA+fWl9MEUHWIZo1"
        b"CeJebdY/XlgKeTa0Olvq0rt70Q5jiSfbqMJmQFteeivUhkMWYUA=",
        b"Contact: <sip:fluffy@127.0.0.1:5070>",
        b"To: <sip:kumiko@example.org>",
        b"From: <sip:fluffy@example.com>;tag=2fb0dcc9",
        b"Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..",
        b"CSeq: 1 MESSAGE",
        b"Content-Transfer-Encoding: binary",
        b"Content-Type: multipart/mixed;boundary=7a9cbec02ceef655",
        b"Date: Sat, 15 Oct 2005 04:44:56 GMT",
        b"User-Agent: SIPimp.org/0.2.5 (curses)",
    ]
    return _msg(lines, body)


def _unreason():
    # s.3.1.1.12: a reason phrase in UTF-8.
    lines = [
        "SIP/2.0 200 = 2**3 * 5**2 но сто девяносто девять - простое"
        .encode(),
        b"Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923",
        b"Call-ID: unreason.1234ksdfak3j2erwedfsASdf",
        b"CSeq: 35 INVITE",
        b"From: sip:user@example.com;tag=11141343",
        b"To: sip:user@example.edu;tag=2229",
        b"Content-Type: application/sdp",
        b"Contact: <sip:user@host198.example.com>",
    ]
    return _msg(lines, SDP)


def _noreason():
    # s.3.1.1.13: an empty reason phrase (the space after the code stays).
    lines = [
        b"SIP/2.0 100 ",
        b"Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe",
        b"Call-ID: noreason.asndj203insdf99223ndf",
        b"CSeq: 35 INVITE",
        b"From: <sip:user@example.com>;tag=39ansfi3",
        b"To: <sip:user@example.edu>;tag=902jndnke3",
        b"Content-Length: 0",
        b"Contact: <sip:user@host105.example.com>",
    ]
    return _msg(lines, length=False)


VALID = [
    ("wsinv", "request", _wsinv()),
    ("intmeth", "request", _intmeth()),
    ("esc01", "request", _esc01()),
    ("escnull", "request", _escnull()),
    ("esc02", "request", _esc02()),
    ("lwsdisp", "request", _lwsdisp()),
    ("longreq", "request", _longreq()),
    ("dblreq", "request", _dblreq()),
    ("semiuri", "request", _semiuri()),
    ("transports", "request", _transports()),
    ("mpart01", "request", _mpart01()),
    ("unreason", "response", _unreason()),
    ("noreason", "response", _noreason()),
]
