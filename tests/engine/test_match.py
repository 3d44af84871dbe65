"""match.decide() on real dev-set faces with the dlib operating point on record."""

import numpy as np

from recognition.engine.calibration import load_operating_point
from recognition.engine.match import MARK, UNKNOWN, Gallery, decide

POINT = load_operating_point("dlib_resnet_v1_flip")


def photos(dataset, person):
    return sorted((dataset / "identities" / person).glob("*.jpg"))


def test_same_person_is_under_the_mark_distance_and_different_people_beyond_suggestions(faces_dataset, embed_largest):
    bush_a, bush_b = (embed_largest(p) for p in photos(faces_dataset, "George_W_Bush")[:2])
    putin = embed_largest(photos(faces_dataset, "Vladimir_Putin")[0])
    assert np.isclose(np.linalg.norm(bush_a), 1.0, atol=1e-4)
    assert np.linalg.norm(bush_a - bush_b) < POINT.mark_distance
    assert np.linalg.norm(bush_a - putin) > POINT.suggest_distance


def test_known_faces_are_marked_and_a_stranger_is_not(faces_dataset, embed_largest):
    """A school of four people enrolled with four photos each; a fifth person is a stranger."""
    enrolled = ["George_W_Bush", "Vladimir_Putin", "Tony_Blair", "Hugo_Chavez"]
    rows = [(p, embed_largest(path)) for p in enrolled for path in photos(faces_dataset, p)[:4]]
    gallery = Gallery(np.stack([v for _, v in rows]), [p for p, _ in rows])
    probes = [embed_largest(photos(faces_dataset, p)[5]) for p in enrolled]
    strangers = [embed_largest(path) for path in photos(faces_dataset, "Jacques_Chirac")]
    decisions = decide(np.stack(probes + strangers), gallery, enrolled[:2], None, POINT)
    known, rest = decisions[:4], decisions[4:]
    assert [d.marked_student for d in known[:2]] == enrolled[:2]
    # Blair and Chavez are enrolled with another course: the roster's nearest is far from them.
    assert all(d.kind == UNKNOWN and d.rival in enrolled[2:] for d in known[2:])
    assert all(d.kind != MARK for d in rest)


def test_one_student_is_never_given_two_faces(faces_dataset, embed_largest):
    """Two faces (two photos of Bush) are both nearest to the enrolled Bush: only the closer one
    is marked, the other stays unknown ("taken")."""
    bush = photos(faces_dataset, "George_W_Bush")
    rows = [embed_largest(p) for p in bush[:4]] + [embed_largest(photos(faces_dataset, "Tony_Blair")[0])]
    gallery = Gallery(np.stack(rows), ["bush"] * 4 + ["blair"])
    decisions = decide(np.stack([embed_largest(p) for p in bush[4:6]]), gallery, None, None, POINT)
    assert all(d.student == "bush" for d in decisions)
    kinds = sorted(d.kind for d in decisions)
    assert kinds == [MARK, UNKNOWN]
    winner, loser = sorted(decisions, key=lambda d: d.kind != MARK)
    assert winner.distance <= loser.distance and loser.reason == "taken"
