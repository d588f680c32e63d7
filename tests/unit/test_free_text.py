"""Free text keeps no contact point (domain/free_text.py): what outlives an erasure."""

from __future__ import annotations

import pytest

from consentd.domain.free_text import without_contacts


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("agent lea@example.fr", "agent (email)"),
        ("rappel au +33 6 12 34 56 78 fait", "rappel au (phone) fait"),
        ("0612345678", "(phone)"),
        ("0033.6.12.34.56.78", "(phone)"),
        ("+33 (0)6 12 34 56 78", "(phone)"),
        ("(+33) 6 12 34 56 78", "(phone)"),
        ("06/12/34/56/78", "(phone)"),
        ("06\u00a012\u00a034\u00a056\u00a078", "(phone)"),
        ("06\u202f12\u202f34\u202f56\u202f78", "(phone)"),
        ("appel 01 42 68 53 00 ok", "appel (phone) ok"),
        # Side by side, two numbers were one invalid match to the matcher: both kept (probe X).
        ("rappeler 06 12 34 56 78 06 98 76 54 32", "rappeler (phone) (phone)"),
        ("06 12 34 56 78 0612345679", "(phone) (phone)"),
        ("+33 6 12 34 56 78 0033612345678", "(phone) (phone)"),
        (
            "tel 06 12 34 56 78 / +33 6 12 34 56 78 / 0033612345678",
            "tel (phone) / (phone) / (phone)",
        ),
        ("06.12.34.56.78-07.98.76.54.32 fin", "(phone)-(phone) fin"),
        # Other separators people put between digit groups (probe Y).
        ("06_12_34_56_78", "(phone)"),
        ("06\u00b712\u00b734\u00b756\u00b778", "(phone)"),
        ("06,12,34,56,78", "(phone)"),
        ("06\t12\t34\t56\t78", "(phone)"),
        # What is no phone number stays.
        ("crm-sync-20261205", "crm-sync-20261205"),
        ("agent-0042", "agent-0042"),
        ("ticket 2026-12-05 #4417", "ticket 2026-12-05 #4417"),
        (
            "Export remis le 05.12.2026 10:45, dossier 0001234567",
            "Export remis le 05.12.2026 10:45, dossier 0001234567",
        ),
        ("SIRET 00012345678901", "SIRET 00012345678901"),
        ("REQ-00123456789", "REQ-00123456789"),
        ("n°0012345678", "n°0012345678"),
        # Digits glued to an id and grouped unlike a phone number are the id (probe AM: actors
        # `w0-100-856242` were stored as "w(phone)"); a number glued to a word is still one
        # (probe AP: `Tel0612345678` was kept).
        ("w0-100-856242", "w0-100-856242"),
        ("agent w0-100-856242-wd", "agent w0-100-856242-wd"),
        ("agent7-0-100-856242", "agent7-0-100-856242"),
        ("rappel 0612345678.", "rappel (phone)."),
        ("tel:0612345678", "tel:(phone)"),
        ("Tel0612345678", "Tel(phone)"),
        ("Mme Dupont tel0612345678", "Mme Dupont tel(phone)"),
        ("mobile+33612345678", "mobile(phone)"),
        ("appelée au 0612345678à 10h", "appelée au (phone)à 10h"),
        ("tel-06-12-34-56-78", "tel-(phone)"),
        # Addresses written to fool robots, and IP addresses (probe AO: they outlived erasure).
        ("lea [at] example [dot] fr", "(email)"),
        ("lea (AT) example.fr merci", "(email) merci"),
        ("lea(a)example.fr", "(email)"),
        ("lea @ example.fr", "(email)"),
        ("via lea.martin at example dot org", "via (email)"),
        ('"lea martin"@example.fr', "(email)"),
        ("from 198.51.100.210 today", "from (ip) today"),
        ("client 2001:db8::c4, hier", "client (ip), hier"),
        ("::ffff:192.0.2.1", "(ip)"),
        ("jean at example.fr", "(email)"),
        ("jean dot dupont at example dot fr", "(email)"),
        ("ip 10.0.0.1", "ip (ip)"),
        # What is no address stays (probe AP: each of these was stored as "(email)" or "(ip)").
        ("at 10:45:30 le 05.12.2026", "at 10:45:30 le 05.12.2026"),
        ("version 1.2.3", "version 1.2.3"),
        ("meet at noon", "meet at noon"),
        ("999.1.1.1", "999.1.1.1"),
        ("consent under art. 6(1)(a) GDPR", "consent under art. 6(1)(a) GDPR"),
        ("see clause 4(a) of the contract", "see clause 4(a) of the contract"),
        ("Refused under Article 12(5) (a) and (b)", "Refused under Article 12(5) (a) and (b)"),
        ("we will reply at some point next week", "we will reply at some point next week"),
        ("at some point in time", "at some point in time"),
        ("data at rest dot encrypted", "data at rest dot encrypted"),
        ("form (a) signed, annex (A) attached", "form (a) signed, annex (A) attached"),
        ("crm-sync @ eu-west-1", "crm-sync @ eu-west-1"),
        ("retry @ 10:30, price @ 5 EUR", "retry @ 10:30, price @ 5 EUR"),
        ("version 2.0.0.1, sdk 1.0.0.0", "version 2.0.0.1, sdk 1.0.0.0"),
        ("build 4.2.1.0-rc1, banner v10.2.3.4", "build 4.2.1.0-rc1, banner v10.2.3.4"),
        ("a::b ::1 sha 1::2", "a::b ::1 sha 1::2"),
        # Probe AR: a user agent's build, a device's version; and what was kept.
        ("Mozilla/5.0 (Windows NT 10.0.19045.3803)", "Mozilla/5.0 (Windows NT 10.0.19045.3803)"),
        ("iOS 17.2.1.1", "iOS 17.2.1.1"),
        ("jean.dupont arobase gmail point com", "(email)"),
        ("jean[at]example.paris", "(email)"),
        # Probe BI: a bracketed "at" with a spelled "dot", "@" as an HTML character reference.
        ("jean [at] corp dot fr", "(email)"),
        ("mail jean&#64;corp.fr", "mail (email)"),
        ("jean [@] corp.fr, jean (@) corp (dot) fr", "(email), (email)"),
        ("jean&#x40;corp.fr, jean&commat;corp.fr", "(email), (email)"),
        ("R&D at 5 dot 30, see [at] noon", "R&D at 5 dot 30, see [at] noon"),
        ("jean @ example . fr", "(email)"),
        ("IP 192.168.001.010", "IP (ip)"),
        ("ip192.168.1.10", "ip(ip)"),
        ("ips 10.0.0.1-10.0.0.9", "ips (ip)-(ip)"),
        ("tel.06.12.34.56.78", "tel.(phone)"),
        # Probe VC: a CRM's hexadecimal reference lost a run of its digits; a number glued to a
        # word, or two numbers glued together, are still numbers.
        ("c368765d9b0612345678a1378ac59066", "c368765d9b0612345678a1378ac59066"),
        ("ref=c368765d9b0612345678a1378ac59066;", "ref=c368765d9b0612345678a1378ac59066;"),
        ("appel0612345678 puis0698765432", "appel(phone) puis(phone)"),
    ],
)
def test_free_text_keeps_no_address_or_number(raw: str, kept: str) -> None:
    """An actor, a request's outcome or reason outlives an erasure (in the append-only audit
    log too): e-mail addresses and phone numbers become markers, however a French agent writes
    them; dates, file numbers and SIRETs stay."""
    assert without_contacts(raw) == kept
