"""A labelled world: X accounts, the Bluesky and fediverse accounts that exist, and the truth.

Every case reproduces a situation from MATCHING.md (proof in the bio, the link back, squatters,
namesakes, impersonators, e-mail addresses, X mirrors, bridges, moved accounts, delegated
domains, Unicode tricks, truncated links, people on neither network). The committed evaluation
set (`tests/data/eval_set.json`) is `build_world(360, seed=7)`; the benchmarks build larger ones.

Run `python -m tests.standins.world --size 360 --seed 7 > tests/data/eval_set.json` to rebuild it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from typing import Any

FIRST = [
    "Alice",
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Inès",
    "Jade",
    "Louise",
    "Zoé",
    "Clara",
    "Hugo",
    "Lucas",
    "Louis",
    "Nathan",
    "Jules",
    "Gabriel",
    "Arthur",
    "Raphaël",
    "Maël",
    "Paul",
    "Sophie",
    "Émilie",
    "Hélène",
    "Margaux",
    "Anaïs",
    "Noémie",
    "Océane",
    "Aurélie",
    "Julie",
    "Thomas",
    "Nicolas",
    "Antoine",
    "Julien",
    "Mathieu",
    "Pierre",
    "François",
    "Étienne",
    "Olivia",
    "Emma",
    "Amelia",
    "Grace",
    "Harry",
    "Oliver",
    "George",
    "Noah",
    "Jack",
    "Leo",
    "Yasmine",
    "Karim",
    "Mehdi",
    "Fatou",
    "Aïcha",
    "Moussa",
    "Linh",
    "Mei",
    "Sanjay",
    "Priya",
]
LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Lefèvre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Mathieu",
    "Clément",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Evans",
    "Nguyen",
    "Diallo",
    "Traoré",
    "Benali",
    "Haddad",
    "Okafor",
    "Kowalski",
    "Rossi",
    "Schmidt",
]
JOBS = [
    "Journaliste",
    "Chercheuse en sociologie",
    "Prof d'histoire-géo",
    "Syndicaliste CGT",
    "Doctorant en physique",
    "Maître de conférences",
    "Bibliothécaire",
    "Militante associative",
    "Développeur web",
    "Photographer",
    "Data scientist",
    "Urbaniste",
    "Infirmière",
    "Economist",
    "Science writer",
    "Rédactrice",
    "Avocat",
    "Game designer",
    "Traductrice",
]
TOPICS = [
    "climat",
    "open science",
    "logiciel libre",
    "éducation",
    "santé publique",
    "cyclisme",
    "féminisme",
    "jazz",
    "politique locale",
    "astronomie",
    "cinéma",
    "football",
    "linguistique",
]
MASTODON_SERVERS = [
    "piaille.fr",
    "mastodon.social",
    "framapiaf.org",
    "mamot.fr",
    "sciences.social",
    "mastodon.online",
    "mas.to",
    "eldritch.café",
]
MISSKEY_SERVERS = ["misskey.io"]
PIXELFED_SERVERS = ["pixelfed.social", "pixelfed.fr"]
# Lives that are not the person's: what a recycled handle shows today.
ELSEWHERE = [
    ("Rafael Souza", "Surf, churrasco e futebol. São Paulo."),
    ("Kimberly Tran", "Nail tech in Houston TX"),
    ("Dmitri Ivanov", "Программист из Казани"),
    ("Priya Sharma", "Yoga teacher, Pune"),
    ("Kenji Watanabe", "東京在住のエンジニア"),
    ("Jordan Blake", "gamer. 19. he/him"),
    ("Tom Clark", "Dad, runner, Leeds fan"),
    ("Ayşe Yılmaz", "İstanbul, kahve ve kediler"),
]
ORGS = [
    ("lemonde.fr", "Le Monde"),
    ("liberation.fr", "Libération"),
    ("cnrs.fr", "CNRS"),
    ("mediapart.fr", "Mediapart"),
    ("franceinter.fr", "France Inter"),
]
ORG_FEDI = [("redaction", "mastodon.social", "La Rédaction"), ("cgt", "piaille.fr", "CGT")]
DELEGATED = ("moi.example", "social.moi.example")


def _did(seed: str) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    digest = hashlib.sha256(seed.encode()).digest()
    return "did:plc:" + "".join(alphabet[b % 32] for b in digest[:24])


def _idna(host: str) -> str:
    return host if host.isascii() else host.encode("idna").decode("ascii")


def _ascii(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isascii()).lower()


class WorldBuilder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.bluesky: dict[str, dict[str, Any]] = {}
        self.servers: dict[str, dict[str, Any]] = {}
        self.accounts: list[dict[str, Any]] = []
        self.used_x: set[str] = set()
        self.used_names: set[str] = set()
        for host in MASTODON_SERVERS:
            self.servers[_idna(host)] = {"software": "mastodon", "version": "4.3.2", "accounts": {}}
        for host in MISSKEY_SERVERS:
            self.servers[host] = {"software": "misskey", "version": "2025.1.0", "accounts": {}}
        for host in PIXELFED_SERVERS:
            self.servers[host] = {"software": "pixelfed", "version": "0.12.4", "accounts": {}}
        self.servers["odd.example"] = {"software": "mastodon", "version": "4.3.2", "accounts": {}}
        self.servers["threads.net"] = {"software": "threads", "version": "1.0", "accounts": {}}
        self.servers["bsky.brid.gy"] = {"software": "bridgy-fed", "version": "0.1", "accounts": {}}
        self.servers["bird.makeup"] = {"software": "birdsitelive", "version": "1.0", "accounts": {}}
        self.servers[DELEGATED[1]] = {
            "software": "mastodon",
            "version": "4.3.2",
            "accounts": {},
            "local_domain": DELEGATED[0],
        }
        self.servers[DELEGATED[0]] = {"delegate_to": DELEGATED[1]}
        for domain, name in ORGS:
            self.add_bsky(domain, name, f"Le compte officiel de {name}.")
        # Bridgy Fed's account: Bluesky people opt in to the bridge by following it.
        self.add_bsky("ap.brid.gy", "Bridgy Fed for ActivityPub", "Follow to bridge.")
        for user, host, name in ORG_FEDI:
            self.add_fedi(user, host, name, f"<p>Compte officiel {name}.</p>")

    # -- people ------------------------------------------------------------------------------
    def person(self) -> tuple[str, str, str]:
        """A fresh (display name, X handle, ascii slug)."""
        for attempt in range(2000):
            first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
            if attempt >= 20:  # large worlds: a middle initial keeps every name distinct
                first = f"{first} {self.rng.choice('ABCDEFGHJKLMNPRSTVW')}."
            name = f"{first} {last}"
            slug = _ascii(first + last).replace(" ", "").replace("'", "")
            style = self.rng.random()
            if style < 0.4:
                handle = slug[:15]
            elif style < 0.7:
                handle = (_ascii(first)[:1] + _ascii(last)).replace(" ", "")[:12] + str(
                    self.rng.randint(1, 99)
                )
            else:
                handle = (_ascii(first) + "_" + _ascii(last)).replace(" ", "")[:15]
            slug = re.sub(r"[^a-z0-9]", "", slug)
            handle = re.sub(r"[^a-z0-9_]", "", handle)
            if handle not in self.used_x and name not in self.used_names and len(handle) >= 4:
                self.used_x.add(handle)
                self.used_names.add(name)
                return name, handle, slug
        raise RuntimeError("ran out of names")

    def bio(self) -> str:
        return (
            f"{self.rng.choice(JOBS)}. {self.rng.choice(TOPICS).capitalize()}, "
            f"{self.rng.choice(TOPICS)}."
        )

    def add_bsky(
        self,
        handle: str,
        name: str,
        description: str = "",
        labels: tuple[str, ...] = (),
        links: tuple[str, ...] = (),
        **extra: Any,
    ) -> dict[str, Any]:
        did = _did(handle + name)
        entry = {
            "did": did,
            "handle": handle,
            "displayName": name,
            "description": description,
            "labels": list(labels),
            "links": list(links),
            **extra,
        }
        self.bluesky[did] = entry
        return entry

    def add_fedi(
        self,
        user: str,
        host: str,
        name: str,
        note: str = "",
        fields: list[list[str]] | None = None,
        bot: bool = False,
        moved: str | None = None,
    ) -> str:
        host = _idna(host)
        self.servers[host]["accounts"][user] = {
            "username": user,
            "display_name": name,
            "note": note,
            "fields": fields or [],
            "bot": bot,
            "moved": moved,
        }
        local = self.servers[host].get("local_domain", host)
        return f"{user}@{local}"

    def add_x(
        self,
        case: str,
        handle: str,
        name: str,
        bio: str,
        url: str | None = None,
        links: list[str] | None = None,
        bsky: str | None = None,
        fedi: str | None = None,
        bsky_findable: bool = True,
        fedi_findable: bool = True,
    ) -> None:
        self.accounts.append(
            {
                "handle": handle,
                "name": name,
                "bio": bio,
                "url": url,
                "links": links or [],
                "id": str(10**9 + len(self.accounts)),
                "follows_you": self.rng.random() < 0.3,
                "case": case,
                "expect": {"bluesky": bsky, "mastodon": fedi},
                "findable": {
                    "bluesky": bool(bsky) and bsky_findable,
                    "mastodon": bool(fedi) and fedi_findable,
                },
            }
        )

    def fedi_user(self, slug: str) -> str:
        return self.rng.choice([slug, slug[:10], slug + str(self.rng.randint(1, 9))])

    # -- the cases ---------------------------------------------------------------------------
    def case_bsky_bio_handle(self) -> None:
        name, x, slug = self.person()
        h = f"{slug[:14]}.bsky.social"
        self.add_bsky(h, name, self.bio())
        marker = self.rng.choice(
            [
                "🦋 @{}",
                "Bluesky : @{}",
                "Aussi sur @{}",
                "bsky: {}",
                "Retrouvez-moi sur @{}",
                "{} 🦋",
            ]
        )
        self.add_x("bsky-bio-handle", x, name, f"{self.bio()} {marker.format(h)}", bsky=h)

    def case_bsky_unclaimed_same_name(self) -> None:
        name, x, slug = self.person()
        h = f"{slug[:12]}{self.rng.randint(1, 99)}.bsky.social"
        self.add_bsky(h, name, "")
        self.add_x("bsky-mention-same-name", x, name, f"{self.bio()} @{h}", bsky=h)

    def case_bsky_url_link(self) -> None:
        name, x, slug = self.person()
        h = f"{slug[:10]}.bsky.social"
        p = self.add_bsky(h, name.split()[0], self.bio())
        url = f"https://bsky.app/profile/{h}"
        if self.rng.random() < 0.5:
            url = f"https://bsky.app/profile/{p['did']}"
        self.add_x("bsky-link", x, name, f"{self.bio()} {url[8:30]}…", links=[url], bsky=h)

    def case_bsky_name_domain(self) -> None:
        name, x, slug = self.person()
        h = f"{slug}.fr"
        self.add_bsky(h, name, self.bio())
        self.add_x("bsky-name-domain", x, f"{name} 🦋 {h}", self.bio(), bsky=h)

    def case_website_domain(self) -> None:
        name, x, slug = self.person()
        h = f"{slug}.net"
        self.add_bsky(h, name, self.bio())
        self.add_x("website-domain-handle", x, name, self.bio(), url=f"https://www.{h}/", bsky=h)

    def case_domain_unindexed(self) -> None:
        """A domain handle the AppView's index has not caught up with: proven by the domain."""
        name, x, slug = self.person()
        h = f"{slug}.org"
        proof = self.rng.choice(["well-known", "dns"])
        self.add_bsky(h, name, self.bio(), indexed=False, proof=proof)
        self.add_x("domain-unindexed", x, name, self.bio(), url=f"https://{h}/", bsky=h)

    def case_website_employer(self) -> None:
        name, x, _ = self.person()
        domain, org = self.rng.choice(ORGS)
        self.add_x(
            "website-employer",
            x,
            name,
            f"Journaliste à {org}.",
            url=f"https://www.{domain}/",
            bsky=None,
        )

    def case_org_mention(self) -> None:
        name, x, _ = self.person()
        domain, _org = self.rng.choice(ORGS)
        user, host, _n = self.rng.choice(ORG_FEDI)
        self.add_x("org-mention", x, name, f"Journaliste @{domain}, déléguée @{user}@{host}")

    def case_same_handle_same_name(self) -> None:
        name, x, _ = self.person()
        label = x.lower().replace("_", "-")
        if not 3 <= len(label) <= 18:
            label = label[:18]
        h = f"{label}.bsky.social"
        self.add_bsky(h, name, self.bio())
        self.add_x("same-handle-same-name", x, name, self.bio(), bsky=h)

    def case_squatter(self) -> None:
        name, x, _ = self.person()
        other, _, _ = self.person()
        self.add_bsky(f"{x.lower().replace('_', '-')}.bsky.social", other, "")
        self.add_x("squatter", x, name, self.bio())

    def case_namesake(self) -> None:
        name, x, slug = self.person()
        self.add_bsky(
            f"{slug[:8]}{self.rng.randint(100, 999)}.bsky.social", name, "Just here for the cats."
        )
        self.add_x("namesake", x, name, self.bio())

    def case_reverse_link_bsky(self) -> None:
        name, x, slug = self.person()
        h = f"{slug[:9]}-{self.rng.choice(['photo', 'lab', 'ecrit', 'info'])}.bsky.social"
        back = self.rng.choice(
            [f"Ex-Twitter @{x}", f"(x.com/{x})", f"Formerly @{x} on Twitter", f"🐦 @{x}"]
        )
        self.add_bsky(h, name, f"{self.bio()} {back}")
        # a namesake in the same search results
        self.add_bsky(f"{slug[:7]}{self.rng.randint(10, 99)}.bsky.social", name, "Autre personne.")
        self.add_x("reverse-link-bsky", x, name, self.bio(), bsky=h)

    def case_impersonator(self) -> None:
        name, x, slug = self.person()
        self.add_bsky(
            f"{x.lower().replace('_', '-')}.bsky.social",
            name,
            self.bio(),
            labels=("impersonation",),
        )
        real = f"{slug[:12]}.bsky.social"
        self.add_bsky(real, name, self.bio())
        self.add_x("impersonator", x, name, f"{self.bio()} 🦋 {real}", bsky=real)

    def case_handle_invalid(self) -> None:
        name, x, _slug = self.person()
        p = self.add_bsky("handle.invalid", name, self.bio())
        self.add_x(
            "handle-invalid", x, name, self.bio(), links=[f"https://bsky.app/profile/{p['did']}"]
        )

    def case_underscore(self) -> None:
        name, _, _ = self.person()
        first, last = name.split(" ", 1)
        x = re.sub(r"[^a-z0-9_]", "", f"{_ascii(first)}_{_ascii(last)}")[:15]
        if x in self.used_x:
            return
        self.used_x.add(x)
        h = f"{x.replace('_', '-')}.bsky.social"
        self.add_bsky(h, name, self.bio())
        self.add_x("underscore", x, name, self.bio(), bsky=h)

    def case_truncated(self) -> None:
        name, x, slug = self.person()
        h = f"{slug}-officiel.bsky.social"
        self.add_bsky(h, "Compte perso", "")
        self.add_x(
            "truncated-link",
            x,
            name,
            f"{self.bio()} bsky.app/profile/{h[:14]}…",
            bsky=h,
            bsky_findable=False,
        )

    def case_fedi_handle(self) -> None:
        name, x, slug = self.person()
        host = self.rng.choice(MASTODON_SERVERS)
        acct = self.add_fedi(self.fedi_user(slug), host, name, f"<p>{self.bio()}</p>")
        marker = self.rng.choice(
            ["🐘 @{}", "Mastodon : @{}", "Sur le fédivers : @{}", "@{}", "fedi: @{}"]
        )
        self.add_x("fedi-handle", x, name, f"{self.bio()} {marker.format(acct)}", fedi=acct)

    def case_fedi_url(self) -> None:
        name, x, slug = self.person()
        host = self.rng.choice(MASTODON_SERVERS)
        user = self.fedi_user(slug)
        acct = self.add_fedi(user, host, name.split()[0], f"<p>{self.bio()}</p>")
        form = self.rng.choice([f"https://{host}/@{user}", f"https://{host}/users/{user}"])
        self.add_x("fedi-url", x, name, f"{self.bio()} {form[8:28]}…", links=[form], fedi=acct)

    def case_fedi_remote_url(self) -> None:
        name, x, slug = self.person()
        host = self.rng.choice(MASTODON_SERVERS[:3])
        user = self.fedi_user(slug)
        acct = self.add_fedi(user, host, name)
        self.add_x(
            "fedi-remote-url",
            x,
            name,
            self.bio(),
            url=f"https://mastodon.online/@{user}@{host}",
            fedi=acct,
        )

    def case_email(self) -> None:
        name, x, slug = self.person()
        host = self.rng.choice(["univ-lyon2.fr", "gmail.com", "cnrs.fr", "orange.fr", "asso.org"])
        self.add_x("email", x, name, f"{self.bio()} Contact : {slug}@{host}")

    def case_mirror(self) -> None:
        name, x, _ = self.person()
        self.add_fedi(
            x.lower(),
            "bird.makeup",
            name,
            f"<p>Mirror of https://x.com/{x}</p>",
            fields=[["Twitter", f"https://x.com/{x}"]],
            bot=True,
        )
        self.add_x("x-mirror", x, name, f"{self.bio()} Suivez-moi aussi : @{x.lower()}@bird.makeup")

    def case_misskey(self) -> None:
        name, x, slug = self.person()
        acct = self.add_fedi(self.fedi_user(slug), "misskey.io", name, f"<p>{self.bio()}</p>")
        self.add_x("misskey", x, name, f"{self.bio()} Misskey: @{acct}", fedi=acct)

    def case_fedi_reverse_field(self) -> None:
        name, x, slug = self.person()
        host = self.rng.choice(MASTODON_SERVERS)
        acct = self.add_fedi(
            f"{slug[:6]}_{self.rng.randint(1, 99)}",
            host,
            "🌻",
            "<p>Pseudo.</p>",
            fields=[["Twitter", f"@{x}"]],
        )
        self.add_x("fedi-reverse-field", x, name, f"{self.bio()} @{acct}", fedi=acct)

    def case_fedi_colleague(self) -> None:
        name, x, _ = self.person()
        other, _, oslug = self.person()
        host = self.rng.choice(MASTODON_SERVERS)
        acct = self.add_fedi(oslug[:12], host, other, "<p>Autre personne.</p>")
        self.add_x("fedi-colleague", x, name, f"{self.bio()} Podcast avec @{acct}")

    def case_bridged_bsky_only(self) -> None:
        name, x, slug = self.person()
        h = f"{slug[:14]}.bsky.social"
        self.add_bsky(h, name, self.bio(), follows_bridge=True)
        acct = self.add_fedi(h, "bsky.brid.gy", name)
        self.add_x("bridged-bsky-to-fedi", x, name, f"{self.bio()} 🦋 {h}", bsky=h, fedi=acct)

    def case_bridged_fedi_only(self) -> None:
        name, x, slug = self.person()
        host = self.rng.choice(MASTODON_SERVERS[:4])
        user = self.fedi_user(slug)
        acct = self.add_fedi(user, host, name)
        bridged = f"{user.replace('_', '-')}.{host}.ap.brid.gy"
        self.add_bsky(bridged, name, f"[bridged from https://{host}/@{user} on the fediverse]")
        self.add_x(
            "bridged-fedi-to-bsky", x, name, f"{self.bio()} 🐘 @{acct}", bsky=bridged, fedi=acct
        )

    def case_cross_link(self) -> None:
        name, x, slug = self.person()
        h = f"{slug[:14]}.bsky.social"
        host = self.rng.choice(MASTODON_SERVERS)
        acct = self.add_fedi(self.fedi_user(slug), host, name)
        self.add_bsky(h, name, f"{self.bio()} Mastodon : @{acct}")
        self.add_x("cross-link", x, name, f"{self.bio()} 🦋 @{h}", bsky=h, fedi=acct)

    def case_neither(self) -> None:
        name, x, _ = self.person()
        self.add_x(
            "neither",
            x,
            name,
            self.bio(),
            url=self.rng.choice([None, "https://linktr.ee/" + x, "https://medium.com/@" + x]),
        )

    def case_unicode(self) -> None:
        name, x, slug = self.person()
        host = self.rng.choice(MASTODON_SERVERS[:3])
        acct = self.add_fedi(slug[:12], host, name)
        fancy = self.rng.choice(
            [
                f"🐘 ＠{acct.replace('@', '＠')}",
                f"𝐌𝐚𝐬𝐭𝐨𝐝𝐨𝐧: @{acct[:3]}\u200b{acct[3:]}",
                f"Mastodon: @{acct.split('@')[0]}@{acct.split('@')[1].upper()}",
            ]
        )
        self.add_x("unicode", x, name, f"{self.bio()} {fancy}", fedi=acct)

    def case_idn(self) -> None:
        name, x, slug = self.person()
        acct = self.add_fedi(slug[:10], "eldritch.café", name)
        self.add_x("idn-host", x, name, f"{self.bio()} 🐘 @{slug[:10]}@eldritch.café", fedi=acct)

    def case_delegated(self) -> None:
        name, x, slug = self.person()
        acct = self.add_fedi(slug[:10], DELEGATED[1], name)
        self.add_x("delegated-domain", x, name, f"{self.bio()} Mastodon: @{acct}", fedi=acct)

    def case_moved(self) -> None:
        name, x, slug = self.person()
        old_host, new_host = self.rng.sample(MASTODON_SERVERS[:5], 2)
        user = slug[:10]
        new = self.add_fedi(user, new_host, name, "<p>Nouveau compte.</p>")
        self.add_fedi(user, old_host, name, "<p>J'ai déménagé.</p>", moved=new)
        self.add_x("moved", x, name, f"{self.bio()} 🐘 @{user}@{old_host}", fedi=new)

    def case_threads(self) -> None:
        name, x, slug = self.person()
        acct = self.add_fedi(slug[:12], "threads.net", name, "")
        self.add_x("threads", x, name, f"{self.bio()} Threads (fédéré) : @{acct}", fedi=acct)

    def case_both(self) -> None:
        name, x, slug = self.person()
        h = f"{slug[:14]}.bsky.social"
        self.add_bsky(h, name, self.bio())
        host = self.rng.choice(MASTODON_SERVERS)
        acct = self.add_fedi(self.fedi_user(slug), host, name)
        self.add_x("both-named", x, name, f"{self.bio()} 🦋 {h} 🐘 @{acct}", bsky=h, fedi=acct)

    # -- time: claims the other side contradicts (issue #20) -----------------------------------
    def stranger_now(self) -> tuple[str, str]:
        return self.rng.choice(ELSEWHERE)

    def fresh(self, handle: str) -> str:
        """`handle`, or `handle` with a digit, so that no two accounts share one (a large world
        drew the same pseudonym twice, and the second took the first one's handle)."""
        taken = {p["handle"] for p in self.bluesky.values()}
        label, _, rest = handle.partition(".")
        n = 2
        while handle in taken:
            handle = f"{label}{n}.{rest}"
            n += 1
        return handle

    def fresh_user(self, user: str, host: str) -> str:
        accounts = self.servers[_idna(host)]["accounts"]
        base, n = user, 2
        while user in accounts:
            user = f"{base}{n}"
            n += 1
        return user

    def case_recycled_bsky(self) -> None:
        """The X bio named a handle years ago; it was freed and someone else has it now."""
        name, x, slug = self.person()
        h = self.fresh(f"{slug[:12]}{self.rng.randint(1, 9)}.bsky.social")
        other, life = self.stranger_now()
        self.add_bsky(h, other, life)
        marker = self.rng.choice(["🦋 @{}", "Bluesky : {}", "Aussi sur @{}", "{} 🦋"])
        self.add_x("recycled-bsky", x, name, f"{self.bio()} {marker.format(h)}")

    def case_recycled_fedi(self) -> None:
        name, x, slug = self.person()
        host = self.rng.choice(MASTODON_SERVERS[:4])
        other, life = self.stranger_now()
        user = self.fresh_user(f"{slug[:10]}{self.rng.randint(1, 9)}", host)
        acct = self.add_fedi(user, host, other, f"<p>{life}</p>")
        self.add_x("recycled-fedi", x, name, f"{self.bio()} 🐘 @{acct}")

    def case_pseudonym_linking_back(self) -> None:
        """Another display name, but the profile names the X account back: theirs."""
        name, x, _ = self.person()
        word = self.rng.choice(["moonwitch", "velonaute", "sunflower", "pixelnomad"])
        h = self.fresh(f"{word}{self.rng.randint(10, 99)}.bsky.social")
        self.add_bsky(h, word.capitalize() + " 🌙", f"Anciennement x.com/{x}")
        self.add_x("pseudonym-link-back", x, name, f"{self.bio()} 🦋 {h}", bsky=h)

    def case_parody(self) -> None:
        """A parody names the X account back; the person is not on Bluesky."""
        name, x, slug = self.person()
        words = self.rng.choice(
            [
                ("{} (parodie)", "Compte parodique. x.com/{}"),
                ("{} Fan Club", "Fan account, not affiliated. Twitter: @{}"),
                ("{}", "Unofficial archive of x.com/{}"),
                ("{}", "Inoffizielles Archiv der Tweets von @{} (Twitter)"),
                ("{}", "Cuenta de parodia de twitter.com/{}"),
            ]
        )
        h = self.fresh(f"{slug[:10]}-{self.rng.choice(['fans', 'archive', 'parodie'])}.bsky.social")
        self.add_bsky(h, words[0].format(name), words[1].format(x))
        self.add_x("parody-link-back", x, name, self.bio())

    def case_bot_mirror(self) -> None:
        """An automated mirror of the X account's posts, marked so by its network."""
        name, x, slug = self.person()
        h = self.fresh(f"{slug[:10]}-mirror.bsky.social")
        self.add_bsky(h, name, f"Posts from x.com/{x}", labels=("bot",))
        host = self.rng.choice(MASTODON_SERVERS[:4])
        self.add_fedi(
            f"{slug[:10]}_bot", host, name, f"<p>Posts from twitter.com/{x}</p>", bot=True
        )
        self.add_x("bot-mirror", x, name, self.bio())

    def case_fan_and_real(self) -> None:
        name, x, slug = self.person()
        real = self.fresh(f"{slug[:12]}.bsky.social")
        self.add_bsky(real, name, f"{self.bio()} ex-Twitter @{x}")
        fans = self.fresh(f"{slug[:9]}-fans.bsky.social")
        self.add_bsky(fans, f"{name} Fans", f"Fan page of x.com/{x}")
        self.add_x("fan-and-real", x, name, self.bio(), bsky=real)

    def case_pixelfed(self) -> None:
        name, x, slug = self.person()
        host = self.rng.choice(PIXELFED_SERVERS)
        user = self.fresh_user(slug[:12], host)
        acct = self.add_fedi(user, host, name, f"<p>{self.bio()}</p>")
        if self.rng.random() < 0.5:
            self.add_x("pixelfed", x, name, self.bio(), links=[f"https://{host}/{user}"], fedi=acct)
        else:
            self.add_x("pixelfed", x, name, f"{self.bio()} 📷 {host}/{user}", fedi=acct)

    def case_website_path(self) -> None:
        name, x, slug = self.person()
        h = self.fresh(f"{slug}.org")
        self.add_bsky(h, name, self.bio())
        url = f"http://www.{h}/{self.rng.choice(['blog', 'about', 'fr/accueil'])}"
        self.add_x("website-path", x, name, self.bio(), url=url, bsky=h)

    def case_two_own(self) -> None:
        """Two accounts of one person named together: either is theirs; the first is kept."""
        name, x, slug = self.person()
        perso = self.fresh(f"{slug[:11]}.bsky.social")
        self.add_bsky(perso, name, self.bio())
        pro = self.fresh(f"{slug[:9]}-pro.bsky.social")
        self.add_bsky(pro, name, self.bio())
        text = self.rng.choice(
            ["🦋 perso : {} · pro : {}", "@{} (perso) et @{} (boulot)", "Bluesky: {} / {} (work)"]
        )
        self.add_x("two-own", x, name, f"{self.bio()} {text.format(perso, pro)}", bsky=perso)

    def case_bad_username(self) -> None:
        """A server answers with a username no server may give (`-2+3`): no match."""
        name, x, slug = self.person()
        user = self.fresh_user(slug[:10], "odd.example")
        self.servers["odd.example"]["accounts"][user] = {
            "username": "-2+3",
            "display_name": name,
            "note": "",
            "fields": [],
            "bot": False,
            "moved": None,
        }
        self.add_x("bad-username", x, name, f"{self.bio()} 🐘 @{user}@odd.example")


# Cases of time (issue #20), added after the mix so that the accounts before them stay as they
# were: each appears `size // 90` times (at least twice).
TIME_CASES = [
    "recycled_bsky",
    "recycled_fedi",
    "pseudonym_linking_back",
    "parody",
    "bot_mirror",
    "fan_and_real",
    "pixelfed",
    "website_path",
    "two_own",
    "bad_username",
]

# (case, weight): the mix of a real follow list, traps over-represented on purpose.
CASES: list[tuple[str, int]] = [
    ("bsky_bio_handle", 10),
    ("bsky_unclaimed_same_name", 3),
    ("bsky_url_link", 5),
    ("bsky_name_domain", 4),
    ("website_domain", 4),
    ("domain_unindexed", 2),
    ("website_employer", 3),
    ("org_mention", 3),
    ("same_handle_same_name", 6),
    ("squatter", 5),
    ("namesake", 5),
    ("reverse_link_bsky", 5),
    ("impersonator", 3),
    ("handle_invalid", 2),
    ("underscore", 3),
    ("truncated", 2),
    ("fedi_handle", 9),
    ("fedi_url", 5),
    ("fedi_remote_url", 2),
    ("email", 4),
    ("mirror", 3),
    ("misskey", 3),
    ("fedi_reverse_field", 3),
    ("fedi_colleague", 3),
    ("bridged_bsky_only", 3),
    ("bridged_fedi_only", 3),
    ("cross_link", 4),
    ("neither", 14),
    ("unicode", 3),
    ("idn", 2),
    ("delegated", 2),
    ("moved", 2),
    ("threads", 2),
    ("both", 5),
]


def build_world(size: int, seed: int = 7, time: bool = False) -> dict[str, Any]:
    """`size` accounts of the mix; with `time`, then the families of time (`TIME_CASES`)."""
    b = WorldBuilder(seed)
    # every case at least once, then the weighted mix
    order = [name for name, _ in CASES]
    weights = [w for _, w in CASES]
    while len(b.accounts) < size:
        case = order.pop(0) if order else b.rng.choices([n for n, _ in CASES], weights)[0]
        getattr(b, "case_" + case)()
    del b.accounts[size:]
    for _ in range(max(2, size // 90) if time else 0):
        for case in TIME_CASES:
            getattr(b, "case_" + case)()
    return {
        "appview_host": "public.api.bsky.app",
        "bluesky": list(b.bluesky.values()),
        "servers": b.servers,
        "unresolvable": ["dead.example"],
        "accounts": b.accounts,
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=360)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--no-time", action="store_true", help="without the families of time")
    args = p.parse_args()
    world = build_world(args.size, args.seed, time=not args.no_time)
    json.dump(world, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
