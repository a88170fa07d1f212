"""The claims file against the source studies' own texts: every quoted sentence is the source's, word for word,
and it sits in the section the row names (with that section's title), so that no edit of a quote or a section
can drift from what the study wrote. The texts live beside the checkout (``shared/seeds``), as the datasets do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wganlab.study.reproduction import load_claims

SOURCES = Path(__file__).resolve().parents[3] / "shared" / "seeds"

# A line that only the source's own text has, by the claims file's name for the source.
MARKS = {"Gribsvad & Bundgaard-Nielsen": "Gribsvad", "Garrido et al.": "Quentin Garrido",
         "Pan et al.": "Zixuan Pan", "Astroth": "Kyle Astroth", "the MNIST blog": "# Wasserstein GANs"}

# A numbered heading: markdown hashes (any depth: these texts' levels are not consistent) and "3." / "4.1" /
# "5.3.3", or a Roman numeral and a dot as Astroth's survey writes them ("IV. Conclusion").
NUMBERED = re.compile(r"^(?:#+\s*(?:\*\*)?(\d+(?:\.\d+)*)\.?|([IVX]+)\.)\s+(.+?)(?:\*\*)?\s*$")


def plain(text: str) -> str:
    """Whitespace collapsed and markdown emphasis dropped: a quote keeps the words, not the italics."""
    return re.sub(r"\s+", " ", text.replace("*", "")).strip()


def source_text(source: str) -> str:
    texts = [p.read_text(encoding="utf-8") for p in sorted(SOURCES.glob("*.txt"))]
    mark = next(mark for name, mark in MARKS.items() if name in source)
    found = [text for text in texts if mark in text]
    assert len(found) == 1, (source, len(found))
    return found[0]


def sections(text: str) -> dict[str, tuple[str, str]]:
    """Each numbered section's (title, text up to the next heading that is not one of its subsections), plus the
    abstract (up to the first numbered heading) and, for texts without numbers, each "## " section."""
    lines = text.splitlines()
    headings = []
    for i, line in enumerate(lines):
        found = NUMBERED.match(line.strip())
        if found:
            headings.append((i, found.group(1) or found.group(2), plain(found.group(3))))
    out = {}
    for k, (start, number, title) in enumerate(headings):
        end = next((i for i, other, _ in headings[k + 1:] if not other.startswith(number + ".")), len(lines))
        out[number] = (title, "\n".join(lines[start:end]))
    abstract = next((i for i, line in enumerate(lines) if plain(line).strip("# ").lower() == "abstract"), None)
    if abstract is not None:
        end = next((i for i, _, _ in headings if i > abstract), len(lines))
        out["abstract"] = ("Abstract", "\n".join(lines[abstract:end]))
    named = [(i, line[3:].strip()) for i, line in enumerate(lines) if line.startswith("## ")]
    for k, (start, title) in enumerate(named):
        end = named[k + 1][0] if k + 1 < len(named) else len(lines)
        out.setdefault(title, (title, "\n".join(lines[start:end])))
    return out


def named_sections(where: str) -> list[tuple[str, str | None]]:
    """The sections a row's ``where`` names before any parenthesis (which may cite other sources' sections),
    each part between semicolons: [(number or name, title)]."""
    places = []
    for part in re.split(r"\s*\(", where)[0].split(";"):
        part = part.strip()
        quoted = re.findall(r'"([^"]+)"', part)
        if part.lower() == "abstract":
            places.append(("abstract", None))
        elif quoted:  # sections "A" and "B": the blog's unnumbered headings
            places += [(title, title) for title in quoted]
        else:
            found = re.match(r"§([\dIVX]+(?:\.\d+)*)\s*([^,]*)", part)
            assert found, where
            title = found.group(2).replace(" [sic]", "").strip()
            places.append((found.group(1), title or None))
    return places


def in_order(fragments: list[str], text: str) -> bool:
    at = 0
    for fragment in fragments:
        at = text.find(fragment, at)
        if at < 0:
            return False
        at += len(fragment)
    return True


@pytest.mark.skipif(not SOURCES.is_dir(), reason="shared/seeds (the source studies' texts) is not beside the checkout")
def test_every_quote_is_the_sources_own_words_in_the_section_the_row_names():
    # the source studies' claims, and wganlab's own questions that quote one of them
    claims = [claim for claim in load_claims() if claim["section"] == "studies"
              or (claim.get("quote") and any(name in claim["source"] for name in MARKS))]
    assert len(claims) >= 40
    for claim in claims:
        text = source_text(claim["source"])
        # "..." marks words left out
        fragments = [plain(part) for part in str(claim["quote"]).split("...") if part.strip()]
        assert in_order(fragments, plain(text)), (claim["where"], claim["quote"])
        by_number = sections(text)
        places = named_sections(claim["where"])
        for number, title in places:
            assert number in by_number, (claim["where"], sorted(by_number))
            if title is not None:
                assert by_number[number][0].lower() == title.lower(), (claim["where"], by_number[number][0])
        assert any(in_order(fragments, plain(by_number[number][1])) for number, _ in places), claim["where"]


@pytest.mark.skipif(not SOURCES.is_dir(), reason="shared/seeds (the source studies' texts) is not beside the checkout")
def test_the_words_a_claim_quotes_in_its_own_text_are_a_sources():
    """What a row's test, differences or budget put in quotation marks (four words or more: shorter ones are names,
    like "quite well") is found word for word in one of the five texts (a row may quote another study than its
    own, as the guide's mode-collapse row quotes the MNIST blog)."""
    texts = [plain(p.read_text(encoding="utf-8")) for p in sorted(SOURCES.glob("*.txt"))]
    checked = 0
    for claim in load_claims():
        if not any(name in claim["source"] for name in MARKS):
            continue
        said = " ".join(str(claim.get(key, "")) for key in ("claim", "differences"))
        said += " " + str((claim.get("source_budget") or {}).get("text", ""))
        for quoted in re.findall(r'"([^"]+)"', said):
            if len(quoted.split()) < 4:
                continue
            fragments = [plain(part) for part in quoted.split("...") if part.strip()]
            assert any(in_order(fragments, text) for text in texts), (claim["where"], quoted)
            checked += 1
    assert checked >= 5  # the test reads the quotes it is meant to


def test_the_section_reader_finds_numbered_roman_and_named_sections():
    text = ("# Title\n## **ABSTRACT**\nWe find it.\n## 1. INTRODUCTION\nIntro.\n#### 1.1 Sub part\nDeep *words*.\n"
            "# 2 Next\nOther.\nIII. Survey of Methods\nSurvey text.\n## Implementing GAN in Python\nCode.\n")
    found = sections(text)
    assert found["abstract"][1].endswith("We find it.")
    assert found["1"][0] == "INTRODUCTION" and "Deep *words*." in found["1"][1] and "Other." not in found["1"][1]
    assert found["1.1"][0] == "Sub part" and found["2"][0] == "Next" and found["III"][0] == "Survey of Methods"
    assert found["Implementing GAN in Python"][1].endswith("Code.")
    assert named_sections("§5.3.3 Interpretability of the critics's [sic] loss function, Fig. 20") == [
        ("5.3.3", "Interpretability of the critics's loss function")]
    assert named_sections("abstract (§3 Results, Fig. 4)") == [("abstract", None)]
    assert named_sections("abstract; §3 Results, Fig. 4") == [("abstract", None), ("3", "Results")]
    assert named_sections("§5.1.2") == [("5.1.2", None)]
    assert named_sections('sections "A b" and "C"') == [("A b", "A b"), ("C", "C")]
    assert in_order(["Deep words"], plain(found["1"][1])) and not in_order(["words", "Deep"], "Deep words")
