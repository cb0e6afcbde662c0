"""Roadmap documents: the platform's roadmap counted by hand, every error located, the store
kept idempotent on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from collectors.roadmap import (
    ITEMS,
    SNAPSHOTS,
    collect_roadmap,
    parse_roadmap,
    read_roadmap,
    repair_line,
    split_heading,
    store_roadmap,
)
from services.documents.roadmap import (
    DONE,
    IN_PROGRESS,
    PLANNED,
    Roadmap,
    roadmap_json,
    roadmap_text,
)
from slo.errors import InputError, InputErrors

DATA = Path(__file__).resolve().parent / "data" / "roadmap"
SHAPES = Path(__file__).resolve().parent / "data" / "documents"
PLATFORM = Path(__file__).resolve().parents[1] / "docs" / "platform" / "roadmap.md"
MISENCODED = DATA / "platform-misencoded.md"
T0 = datetime(2026, 1, 11, 22, 30, tzinfo=UTC)

# The platform roadmap, counted by hand from docs/platform/roadmap.md.
# Phase 1: three single items, then monitoring and pipelines with three sub-items each;
# every box is checked.
PHASE1_LEAVES = 3 + 3 + 3
PHASE1_DONE = PHASE1_LEAVES
PHASE1_ITEMS = 5 + 3 + 3  # five top-level items and six sub-items
# Phase 2: three single items done; notifications and GraphQL each have one of their three
# sub-items done and their own boxes open.
PHASE2_LEAVES = 3 + 3 + 3
PHASE2_DONE = 3 + 1 + 1
PHASE2_ITEMS = 5 + 3 + 3
# Phase 3: four single items, none done.
PHASE3_LEAVES = 4
PHASE3_ITEMS = 4
ALL_ITEMS = PHASE1_ITEMS + PHASE2_ITEMS + PHASE3_ITEMS


def roadmap(body: str) -> Roadmap:
    return parse_roadmap(body, path="plan.md")


def errors_of(body: str) -> list[str]:
    with pytest.raises(InputErrors) as caught:
        roadmap(body)
    return [str(e) for e in caught.value.errors]


# --- the platform's roadmap ------------------------------------------------------------


@pytest.fixture(params=[PLATFORM, MISENCODED], ids=["emoji", "mis-encoded emoji"])
def platform(request) -> Roadmap:
    return read_roadmap(request.param)


def test_each_phase_counts_its_leaves_and_the_leaves_done(platform):
    counts = [(p.leaves_done, p.leaves) for p in platform.phases]
    assert counts == [(PHASE1_DONE, PHASE1_LEAVES), (PHASE2_DONE, PHASE2_LEAVES),
                      (0, PHASE3_LEAVES)]


def test_overall_completion_is_the_share_of_all_leaves_done(platform):
    done, total = PHASE1_DONE + PHASE2_DONE, PHASE1_LEAVES + PHASE2_LEAVES + PHASE3_LEAVES
    assert (platform.leaves_done, platform.leaves) == (done, total)
    assert platform.completion == pytest.approx(done / total)
    assert [p.completion for p in platform.phases] == pytest.approx(
        [1.0, PHASE2_DONE / PHASE2_LEAVES, 0.0])


def test_phase_headings_give_title_and_stated_status_with_emoji_proper_or_mis_encoded(
        platform):
    assert [(p.key, p.title, p.name, p.status, p.mark) for p in platform.phases] == [
        ("1", "Phase 1: Infrastructure", "Infrastructure", DONE, "✅"),
        ("2", "Phase 2: Core Services", "Core Services", IN_PROGRESS, "🔄"),
        ("3", "Phase 3: Advanced Features", "Advanced Features", PLANNED, "📋"),
    ]


def test_every_item_is_keyed_by_its_position():
    tree = read_roadmap(PLATFORM)
    items = [item for _, item in tree.items()]
    assert len(items) == ALL_ITEMS
    sdk = next(i for i in items if i.title == "Client SDK")
    assert (sdk.key, sdk.parent_key, sdk.depth) == ("2.4.2", "2.4", 2)
    assert [i.key for i in tree.phases[2].items] == ["3.1", "3.2", "3.3", "3.4"]
    assert all(i.parent_key is None and i.depth == 1 for p in tree.phases for i in p.items)


def test_a_parent_reports_its_own_box_and_the_share_of_its_leaves_done():
    notifications = read_roadmap(PLATFORM).phases[1].items[3]
    assert notifications.title == "WebSocket notifications"
    assert notifications.checked is False
    assert (notifications.leaves_done, notifications.leaves) == (1, 3)
    assert notifications.completion == pytest.approx(1 / 3)
    assert [c.completion for c in notifications.children] == [1.0, 0.0, 0.0]


def test_a_target_in_parentheses_is_taken_out_of_the_title():
    load_test = read_roadmap(PLATFORM).phases[1].items[3].children[2]
    assert (load_test.title, load_test.target) == ("Load test", "100K concurrent connections")
    assert read_roadmap(PLATFORM).phases[0].items[0].target is None  # "(3 zones, …)" is not one


def test_the_platform_roadmap_is_consistent_so_nothing_is_flagged():
    assert read_roadmap(PLATFORM).flags == []


def test_mis_encoded_marks_are_flagged_for_the_author_without_changing_the_result():
    tree = read_roadmap(MISENCODED)
    assert [f.kind for f in tree.flags] == ["encoding"] * len(tree.phases)
    assert [f.line for f in tree.flags] == [p.line for p in tree.phases]
    assert roadmap_json(tree)["phases"] == roadmap_json(read_roadmap(PLATFORM))["phases"]


def test_checklists_outside_the_roadmap_and_inside_code_fences_are_not_read():
    tree = read_roadmap(PLATFORM)
    titles = [item.title for _, item in tree.items()]
    assert "tag the release" not in titles and "not an item either" not in titles
    assert len(tree.phases) == 3  # the fenced "# Phase 9" is a shell comment


# --- phases whatever their words -------------------------------------------------------


@pytest.mark.parametrize("heading", [
    "## Phase 1: Foundation", "## Stage A: Storage", "## Q1 2027", "### Milestone: Beta",
    "## Things to do", "# Sprint 14", "#### v2.0 🔄",
])
def test_the_nearest_heading_above_a_checklist_is_its_phase_whatever_it_says(heading):
    tree = roadmap(f"{heading}\n- [x] one\n- [ ] two\n")
    assert [p.title for p in tree.phases] == [split_heading(heading.lstrip("# ")).title]
    assert (tree.leaves_done, tree.leaves) == (1, 2)


@pytest.mark.parametrize(("title", "number", "name"), [
    pytest.param("Phase 2: Core Services", "2", "Core Services", id="phase and number"),
    pytest.param("Stage A: Storage", "A", "Storage", id="stage and letter"),
    pytest.param("Milestone: Beta", "", "Beta", id="a word and a colon"),
    pytest.param("Q1 2027", "", "Q1 2027", id="a quarter"),
])
def test_a_phase_keeps_the_id_and_name_its_title_gives(title, number, name):
    (phase,) = roadmap(f"## {title}\n- [ ] a\n").phases
    assert (phase.number, phase.name) == (number, name)


def test_stages_read_as_phases_and_a_planned_stage_with_nothing_yet_is_empty():
    tree = read_roadmap(SHAPES / "roadmap-stages.md")
    # By hand: Stage A has one single item and two sub-items, all checked: 3 of 3 leaves.
    # Stage B: a checked single item, one of two sub-items checked, an open single item:
    # 2 of 4. Stage C has nothing under it. "## Notes" holds no checklist: text.
    assert [(p.title, p.number, p.name, p.status, p.leaves_done, p.leaves)
            for p in tree.phases] == [
        ("Stage A: Storage", "A", "Storage", DONE, 3, 3),
        ("Stage B: Replication", "B", "Replication", IN_PROGRESS, 2, 4),
        ("Stage C: Tiering", "C", "Tiering", PLANNED, 0, 0),
    ]
    assert tree.phases[2].completion is None
    assert [(f.kind, f.key) for f in tree.flags] == [("empty-phase", "3")]
    assert tree.groups == []  # the document's title holds every phase: not a group


def test_quarters_read_as_phases_and_nothing_in_a_fence_is_read():
    tree = read_roadmap(SHAPES / "roadmap-quarters.md")
    # By hand: Q1 2 of 2, Q2 1 of 3; Q3 (same leading word) and Q4 (a status mark) are
    # empty phases beside them; "Open questions" is text. The fenced Q9 and Q5 headings
    # and their items are examples.
    assert [(p.title, p.leaves_done, p.leaves) for p in tree.phases] == [
        ("Q1 2027", 2, 2), ("Q2 2027", 1, 3), ("Q3 2027", 0, 0), ("Q4 2027", 0, 0)]
    titles = [item.title for _, item in tree.items()]
    assert not [t for t in titles if "example" in t or "nor is this" in t]
    assert [(f.kind, f.key) for f in tree.flags] == [("empty-phase", "3"), ("empty-phase", "4")]


def test_milestones_under_groups_sum_into_their_group_at_any_depth():
    tree = read_roadmap(SHAPES / "roadmap-milestones.md")
    assert [(p.full_title, p.leaves_done, p.leaves) for p in tree.phases] == [
        ("Web / Milestone: Alpha", 2, 2),  # Sign-in, Dashboard shell
        ("Web / Milestone: Beta", 1, 2),  # Charts done, Alert inbox open
        ("Mobile / Milestone: Alpha", 1, 1),  # Push notifications
        ("Mobile / Milestone: Beta", 1, 3),  # Local cache done; Sync, Store listing open
        ("Later / 2028 / H1 / Milestone: GA", 0, 1),  # Public launch
    ]
    assert [(g.full_title, g.leaves_done, g.leaves) for g in tree.groups] == [
        ("Web", 2 + 1, 2 + 2), ("Mobile", 1 + 1, 1 + 3), ("Later", 0, 1),
        ("Later / 2028", 0, 1), ("Later / 2028 / H1", 0, 1)]
    assert (tree.leaves_done, tree.leaves) == (2 + 1 + 1 + 1 + 0, 2 + 2 + 1 + 3 + 1)
    assert [p.key for p in tree.groups[1].phases] == ["3", "4"]


def test_items_above_every_heading_and_right_under_the_top_heading_have_phases_too():
    tree = read_roadmap(SHAPES / "roadmap-loose.md")
    # The setext "Launch checklist" (===, level 1) holds two items of its own and the
    # setext "Week" headings (---, level 2) below it.
    assert [(p.full_title, p.leaves_done, p.leaves) for p in tree.phases] == [
        ("(no heading)", 1, 2), ("Launch checklist", 1, 2),
        ("Launch checklist / Week 1", 1, 2), ("Launch checklist / Week 2", 0, 1)]
    (launch,) = tree.groups
    assert (launch.title, launch.leaves_done, launch.leaves) == (
        "Launch checklist", 1 + 1 + 0, 2 + 2 + 1)


def test_only_the_section_of_a_roadmap_heading_with_a_checklist_is_read():
    text = ("# Team handbook\n- [ ] read the handbook\n## Roadmap summary\nprose\n"
            "## Our roadmap\n### Q1\n- [x] a\n## Chores\n- [ ] b\n")
    tree = roadmap(text)
    assert [(p.full_title, p.leaves) for p in tree.phases] == [("Q1", 1)]


def test_a_heading_beside_phases_with_no_likeness_is_text_not_an_empty_phase():
    tree = roadmap("## Q1\n- [x] a\n## Q2\n## Notes\nprose\n## Risks 📋\n")
    assert [p.title for p in tree.phases] == ["Q1", "Q2", "Risks"]


def test_a_status_mark_on_a_group_is_checked_against_its_phases():
    tree = roadmap("## 2026 ✅\n### H1\n- [x] a\n### H2\n- [ ] b\n## 2027\n### H1\n- [ ] c\n")
    assert [(f.kind, f.key, f.line) for f in tree.flags] == [("status-done-open", "2026", 1)]


# --- headings and marks ----------------------------------------------------------------


@pytest.mark.parametrize(("heading", "title", "status"), [
    pytest.param("Phase 1: Infrastructure ✅", "Phase 1: Infrastructure", DONE, id="emoji"),
    pytest.param("Phase 1: Infrastructure ✅\ufe0f", "Phase 1: Infrastructure", DONE,
                 id="emoji with a variation selector"),
    pytest.param("Phase 2: Core Services (in progress)", "Phase 2: Core Services",
                 IN_PROGRESS, id="status in words"),
    pytest.param("Phase 3 — Later [planned]", "Phase 3 — Later", PLANNED,
                 id="words in brackets"),
    pytest.param("🚀 Phase 4: Launch 📋", "Phase 4: Launch", PLANNED,
                 id="a leading icon is dropped"),
    pytest.param("Phase 5: Polish", "Phase 5: Polish", None, id="no mark"),
])
def test_a_heading_splits_into_title_and_stated_status(heading, title, status):
    parts = split_heading(heading)
    assert (parts.title, parts.status) == (title, status)


def test_an_unknown_trailing_mark_is_kept_and_flagged_not_fatal():
    tree = roadmap("### Phase 1: Launch ⚠️\n- [x] go\n")
    assert (tree.phases[0].status, tree.phases[0].mark) == (None, "⚠")
    assert [(f.kind, f.line) for f in tree.flags] == [("unknown-mark", 1)]


def test_an_unknown_mis_encoded_mark_is_kept_as_decoration_not_title():
    rocket_read_as_mac_roman_without_its_lead = "🚀".encode().decode("mac_roman")[1:]
    tree = roadmap(f"### Phase 1: Launch {rocket_read_as_mac_roman_without_its_lead}\n- [x] go\n")
    assert tree.phases[0].title == "Phase 1: Launch"
    assert tree.flags[0].kind == "unknown-mark"


def test_only_lines_that_are_valid_utf8_underneath_are_repaired():
    assert repair_line("Caf\u00e9 ‚úÖ") == "Caf\u00e9 ‚úÖ"  # é on its own is not UTF-8 bytes
    assert repair_line("Let‚Äôs Encrypt") == "Let’s Encrypt"
    assert repair_line("plain ASCII") == "plain ASCII"


# --- nesting -----------------------------------------------------------------------------


NESTED = ["- [x] a", "  - [x] a.1", "    - [ ] a.1.1", "    - [x] a.1.2", "- [ ] b"]


@pytest.mark.parametrize("indent", [
    pytest.param("  ", id="two spaces"),
    pytest.param("    ", id="four spaces"),
    pytest.param("\t", id="tabs"),
])
@pytest.mark.parametrize("bullet", ["-", "*", "1."])
def test_nesting_reads_the_same_with_any_consistent_indent_and_bullet(indent, bullet):
    lines = [line.replace("  ", indent).replace("-", bullet, 1) for line in NESTED]
    tree = roadmap("### Phase 1: Nesting\n" + "\n".join(lines) + "\n")
    keys = [(item.key, item.checked) for _, item in tree.items()]
    assert keys == [("1.1", True), ("1.1.1", True), ("1.1.1.1", False), ("1.1.1.2", True),
                    ("1.2", False)]
    # Leaves: a.1.1 (open), a.1.2 (done), b (open).
    assert (tree.leaves_done, tree.leaves) == (1, 3)


def test_a_sub_heading_with_items_is_a_phase_and_the_heading_above_a_group():
    tree = roadmap("## Plan\n### Phase 1: A\n- [x] one\n#### Backend\n- [ ] two\n## Other\n")
    assert [(p.full_title, [i.title for i in p.items]) for p in tree.phases] == [
        ("Phase 1: A", ["one"]), ("Phase 1: A / Backend", ["two"])]
    (group,) = tree.groups
    assert (group.title, [p.key for p in group.phases]) == ("Phase 1: A", ["1", "2"])
    assert (group.leaves_done, group.leaves) == (1, 2)  # one, two


def test_list_items_without_a_box_are_notes_not_items():
    tree = roadmap("### Phase 1: A\n- [x] one\n- a note\n- [ ] two\n")
    assert (tree.leaves_done, tree.leaves) == (1, 2)


# --- flags ------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "kind", "line"), [
    pytest.param("### Phase 1: A\n- [x] parent\n  - [x] done\n  - [ ] open\n",
                 "checked-parent-open", 2, id="a checked parent with an open child"),
    pytest.param("### Phase 1: A\n- [ ] parent\n  - [x] done\n  - [x] done too\n",
                 "parent-open-all-done", 2, id="an open parent whose children are all done"),
    pytest.param("### Phase 1: A ✅\n- [x] done\n- [ ] open\n", "status-done-open", 1,
                 id="a phase marked done with an open item"),
    pytest.param("### Phase 1: A 📋\n- [x] done\n- [ ] open\n", "status-planned-started", 1,
                 id="a phase marked planned with a done item"),
    pytest.param("### Phase 1: A 🔄\n- [x] done\n", "status-in-progress-done", 1,
                 id="a phase marked in progress with every item done"),
    pytest.param("### Phase 1: A\n\n### Phase 2: B\n- [x] done\n", "empty-phase", 1,
                 id="a phase with no items"),
])
def test_inconsistencies_are_flagged_with_their_line(body, kind, line):
    assert [(f.kind, f.line) for f in roadmap(body).flags] == [(kind, line)]


def test_a_phase_in_progress_with_nothing_done_yet_is_not_flagged():
    assert roadmap("### Phase 1: A 🔄\n- [ ] started, not finished\n").flags == []


# --- errors -------------------------------------------------------------------------------


def test_every_error_of_a_file_is_reported_at_once_with_file_line_and_field():
    with pytest.raises(InputErrors) as caught:
        read_roadmap(DATA / "broken.md")
    where = [(e.line, e.field) for e in caught.value.errors]
    # Line 5, an item right under "## Roadmap", belongs to that heading: not an error.
    assert where == [(9, "checkbox"), (12, "indentation"), (13, "indentation"), (14, "title")]
    first = str(caught.value).splitlines()[0]
    assert first.startswith(f"{DATA / 'broken.md'}:9: checkbox: unknown checkbox mark '[?]'")


@pytest.mark.parametrize(("body", "message"), [
    pytest.param("### Phase 1: A\n- [?] maybe\n", "plan.md:2: checkbox: unknown checkbox "
                 "mark '[?]'", id="an unknown checkbox mark"),
    pytest.param("### Phase 1: A\n- [] empty\n", "plan.md:2: checkbox: unknown checkbox mark "
                 "'[]'", id="an empty box"),
    pytest.param("### Phase 1: A\n    - [x] deep\n", "plan.md:2: indentation: indented 2 "
                 "levels deeper than the phase heading", id="a first item indented"),
    pytest.param("### Phase 1: A\n- [x] a\n  - [x] b\n      - [x] c\n", "plan.md:4: "
                 "indentation: indented 2 levels deeper than the item on line 3",
                 id="a jump of two levels"),
    pytest.param("### Phase 1: A\n- note\n  - [x] b\n", "plan.md:3: indentation: checklist "
                 "item under the list item without a checkbox on line 2",
                 id="an item under a note"),
    pytest.param("### Phase 1: A\n- [x] a\n### Phase 1: A\n- [x] b\n", "plan.md:3: phase: "
                 "phase 'Phase 1: A' is already on line 1", id="a repeated phase"),
    pytest.param("## Web\n### Beta\n- [x] a\n### Beta\n- [ ] b\n## Mobile\n### Beta\n- [ ] c\n",
                 "plan.md:4: phase: phase 'Web / Beta' is already on line 2",
                 id="a title repeated in one group (another group may reuse it)"),
])
def test_bad_input_names_file_line_and_field(body, message):
    assert any(e.startswith(message) for e in errors_of(body)), errors_of(body)


def test_a_document_without_a_checklist_is_refused():
    with pytest.raises(InputError, match=r"plan.md: no checklist items"):
        roadmap("# Notes\n- a list without boxes\n```\n- [ ] fenced\n```\n")


# --- rendering ----------------------------------------------------------------------------


def test_json_is_plain_data_with_null_where_nothing_is_counted():
    tree = roadmap("### Phase 1: A\n- [x] one\n### Phase 2: Empty\n")
    payload = roadmap_json(tree)
    json.dumps(payload, allow_nan=False)  # no NaN reaches a user
    assert [p["completion"] for p in payload["phases"]] == [1.0, None]
    assert payload["phases"][0]["items"][0]["key"] == "1.1"


def test_json_lists_groups_with_their_phases_and_phases_with_their_path():
    payload = roadmap_json(read_roadmap(SHAPES / "roadmap-milestones.md"))
    json.dumps(payload, allow_nan=False)
    web = payload["groups"][0]
    assert (web["title"], web["phases"], web["leaves_done"], web["leaves"]) == (
        "Web", ["1", "2"], 3, 4)
    assert payload["phases"][4]["path"] == ["Later", "2028", "H1"]


def test_text_indents_phases_under_their_groups():
    text = roadmap_text(read_roadmap(SHAPES / "roadmap-milestones.md"))
    assert "\nWeb  3/4 75%\n  Milestone: Alpha  ✅ done  2/2 100%\n    [x] 1.1 Sign-in" in text
    assert "\n      Milestone: GA  0/1 0%\n        [ ] 5.1 Public launch" in text


def test_text_shows_each_phase_with_its_counts_and_the_flags():
    text = roadmap_text(read_roadmap(PLATFORM))
    assert f"Phase 2: Core Services  🔄 in progress  {PHASE2_DONE}/{PHASE2_LEAVES}" in text
    assert "(target: 100K concurrent connections)" in text
    flagged = roadmap_text(roadmap("### Phase 1: A ✅\n- [ ] open\n"))
    assert "plan.md:1: 1: marked done, but 1 of 1 items are open" in flagged


# --- the store, on SQLite and PostgreSQL --------------------------------------------------


def rows(engine, table, order):
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(table).order_by(*order))]


def utc(moment):
    """SQLite hands back naive UTC, PostgreSQL an aware time in the session's zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def items(engine):
    return rows(engine, ITEMS, [ITEMS.c.document, ITEMS.c.key])


def snapshots(engine):
    return rows(engine, SNAPSHOTS, [SNAPSHOTS.c.taken_at, SNAPSHOTS.c.phase])


def write(engine, tree, now):
    with engine.begin() as conn:
        return store_roadmap(conn, tree, document="platform", now=now)


def test_a_first_read_stores_every_item_and_one_snapshot_per_phase(engine):
    result = write(engine, read_roadmap(PLATFORM), T0)
    assert (result.inserted, result.updated, result.deleted, result.snapshot) == (
        ALL_ITEMS, 0, 0, True)
    assert len(items(engine)) == ALL_ITEMS
    assert [(s[2], s[3], s[4]) for s in snapshots(engine)] == [
        ("Phase 1: Infrastructure", PHASE1_DONE, PHASE1_LEAVES),
        ("Phase 2: Core Services", PHASE2_DONE, PHASE2_LEAVES),
        ("Phase 3: Advanced Features", 0, PHASE3_LEAVES),
    ]
    with engine.connect() as conn:
        load_test = conn.execute(sa.select(ITEMS).where(ITEMS.c.key == "2.4.3")).one()
    assert (load_test.parent_key, load_test.phase, load_test.depth, load_test.done,
            load_test.target) == ("2.4", "Phase 2: Core Services", 2, False,
                                  "100K concurrent connections")


def test_re_reading_an_unchanged_document_changes_nothing(engine):
    tree = read_roadmap(PLATFORM)
    write(engine, tree, T0)
    before = (items(engine), snapshots(engine))
    result = write(engine, read_roadmap(PLATFORM), T0 + timedelta(hours=1))
    assert not result.changed
    assert (items(engine), snapshots(engine)) == before  # same ids, same updated_at


def test_a_changed_checkbox_updates_its_item_and_adds_a_snapshot(engine, tmp_path):
    write(engine, read_roadmap(PLATFORM), T0)
    changed = tmp_path / "platform.md"
    changed.write_text(PLATFORM.read_text().replace("- [ ] Client SDK", "- [x] Client SDK"))
    later = T0 + timedelta(days=1)
    result = write(engine, read_roadmap(changed), later)
    assert (result.inserted, result.updated, result.deleted, result.snapshot) == (0, 1, 0, True)
    phases = len(read_roadmap(PLATFORM).phases)
    taken = snapshots(engine)
    assert len(taken) == 2 * phases
    latest = {s[2]: (s[3], s[4]) for s in taken if utc(s[1]) == later}
    assert latest["Phase 2: Core Services"] == (PHASE2_DONE + 1, PHASE2_LEAVES)


def test_items_gone_from_the_document_are_deleted_and_other_documents_kept(engine, tmp_path):
    write(engine, read_roadmap(PLATFORM), T0)
    with engine.begin() as conn:
        store_roadmap(conn, roadmap("### Phase 1: Other\n- [x] x\n"), document="other", now=T0)
    shorter = tmp_path / "platform.md"
    shorter.write_text(PLATFORM.read_text().replace("- [ ] Istio service mesh\n", ""))
    result = write(engine, read_roadmap(shorter), T0 + timedelta(days=1))
    assert (result.deleted, result.snapshot) == (1, True)
    documents = [row[1] for row in items(engine)]
    assert (documents.count("platform"), documents.count("other")) == (ALL_ITEMS - 1, 1)


def test_phases_under_groups_are_stored_by_full_title_and_re_reads_change_nothing(engine):
    tree = read_roadmap(SHAPES / "roadmap-milestones.md")
    first = write(engine, tree, T0)
    assert (first.inserted, first.snapshot) == (9 + 1, True)  # nine leaves, one parent
    assert [s[2] for s in snapshots(engine)] == sorted(p.full_title for p in tree.phases)
    with engine.connect() as conn:
        offline = conn.execute(sa.select(ITEMS).where(ITEMS.c.key == "4.1")).one()
    assert (offline.phase, offline.title) == ("Mobile / Milestone: Beta", "Offline mode")
    assert not write(engine, read_roadmap(SHAPES / "roadmap-milestones.md"), T0).changed


def test_collecting_a_file_returns_a_run_and_a_broken_file_a_failed_run(engine):
    ok = collect_roadmap(engine, PLATFORM, document="platform", now=T0)
    assert (ok.collector, ok.status, ok.samples) == ("roadmap", "ok", ALL_ITEMS)
    broken = collect_roadmap(engine, DATA / "broken.md", now=T0)
    assert broken.status == "failed"
    assert len(broken.errors) == 4 and "unknown checkbox mark '[?]'" in broken.errors[0]
