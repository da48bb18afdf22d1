#!/usr/bin/env python3
"""atna_fields.py - test helper: reads an `audit export --format atna`
output (one AuditMessage per line) and prints one field of one message.

usage: atna_fields.py EXPORT LOG EVENT N FIELD...
  EVENT N  the Nth (1-based) message whose photoguard EventTypeCode is
           EVENT ("-": any message; N "all": each of them, one a line)
  FIELD    the fields are printed space separated: id, types (DCM EventTypeCodes, space separated), outcome,
           action, user, requestor (UserIsRequestor of the user), nap,
           naptype, proc, altid, source, patient, patient_idtype,
           patient_role, file, bytes, subject_user, record_ok (the base64
           record equals the log's line of that seq), description,
           count (messages for EVENT)
Prints "none" for a field the message lacks."""
import base64
import json
import sys
import xml.etree.ElementTree as ET


def objects(msg, idtype):
    for o in msg.findall("ParticipantObjectIdentification"):
        c = o.find("ParticipantObjectIDTypeCode")
        if c is not None and c.get("csd-code") == idtype:
            yield o


def first(msg, idtype):
    return next(objects(msg, idtype), None)


def detail(obj, name):
    for d in obj.findall("ParticipantObjectDetail"):
        if d.get("type") == name:
            return base64.b64decode(d.get("value")).decode("utf-8", "replace")
    return None


def xmlsafe(s):
    """What the export writes for S: characters XML cannot carry as \\xNN."""
    out = []
    for ch in s:
        c = ord(ch)
        if (c < 0x20 and ch not in "\t\n\r") or c in (0xFFFE, 0xFFFF):
            out.append("".join("\\x%02x" % b for b in ch.encode("utf-8")))
        else:
            out.append(ch)
    return "".join(out)


def field(msg, name, log):
    ev = msg.find("EventIdentification")
    parts = msg.findall("ActiveParticipant")
    user, proc = parts[0], parts[1] if len(parts) > 1 else None
    patient, fobj = first(msg, "2"), first(msg, "file")
    rec = first(msg, "record")
    if name == "id":
        return ev.find("EventID").get("csd-code")
    if name == "types":
        return " ".join(t.get("csd-code") for t in ev.findall("EventTypeCode")
                        if t.get("codeSystemName") == "DCM") or "none"
    if name == "outcome":
        return ev.get("EventOutcomeIndicator")
    if name == "action":
        return ev.get("EventActionCode")
    if name == "description":
        d = ev.find("EventOutcomeDescription")
        return d.text if d is not None else None
    if name == "user":
        return user.get("UserID")
    if name == "requestor":
        return user.get("UserIsRequestor")
    if name == "nap":
        return user.get("NetworkAccessPointID")
    if name == "naptype":
        return user.get("NetworkAccessPointTypeCode")
    if name == "proc":
        return proc.get("UserID") if proc is not None else None
    if name == "altid":
        return proc.get("AlternativeUserID") if proc is not None else None
    if name == "source":
        return msg.find("AuditSourceIdentification").get("AuditSourceID")
    if name == "patient":
        return patient.get("ParticipantObjectID") if patient is not None else None
    if name == "patient_role":
        if patient is None:
            return None
        return patient.get("ParticipantObjectTypeCode") + "/" + \
            patient.get("ParticipantObjectTypeCodeRole")
    if name == "patient_idtype":
        if patient is None:
            return None
        c = patient.find("ParticipantObjectIDTypeCode")
        return c.get("codeSystemName") + ":" + c.get("csd-code")
    if name == "file":
        return fobj.get("ParticipantObjectID") if fobj is not None else None
    if name == "bytes":
        return detail(fobj, "bytes") if fobj is not None else None
    if name == "subject_user":
        o = first(msg, "11")
        return o.get("ParticipantObjectID") if o is not None else None
    if name in ("user_ok", "file_ok"):
        seq = int(rec.get("ParticipantObjectID"))
        r = json.loads(log.get(seq))
        got = user.get("UserID") if name == "user_ok" else \
            (fobj.get("ParticipantObjectID") if fobj is not None else None)
        want = xmlsafe(r["actor"] if name == "user_ok" else r["object"])
        return "yes" if got == want else "no: %r != %r" % (got, want)
    if name == "record_ok":
        if rec is None:
            return "no record"
        raw = base64.b64decode(detail_raw(rec))
        seq = int(rec.get("ParticipantObjectID"))
        return "yes" if raw == log.get(seq) else "no"
    raise SystemExit("unknown field " + name)


def detail_raw(obj):
    for d in obj.findall("ParticipantObjectDetail"):
        if d.get("type") == "record":
            return d.get("value")
    return ""


def main():
    export, logfile, event, n = sys.argv[1:5]
    names = sys.argv[5:]
    log = {}
    with open(logfile, "rb") as f:
        for line in f:
            line = line.rstrip(b"\n")
            try:
                log[json.loads(line)["seq"]] = line
            except (ValueError, KeyError):
                pass
    msgs = []
    with open(export, "rb") as f:
        for line in f:
            msgs.append(ET.fromstring(line))

    def name_of(m):
        for t in m.find("EventIdentification").findall("EventTypeCode"):
            if t.get("codeSystemName") == "photoguard":
                return t.get("csd-code")
        return None

    chosen = msgs if event == "-" else [m for m in msgs if name_of(m) == event]
    if names == ["count"]:
        print(len(chosen))
        return
    if n != "all":
        i = int(n) - 1
        if i >= len(chosen):
            print("no such message")
            return
        chosen = [chosen[i]]
    for m in chosen:
        vals = [field(m, name, log) for name in names]
        print(" ".join("none" if v is None else v for v in vals))


main()
