import numpy as np

from recognition.engine.match import Gallery, default_margin, default_threshold, match_faces

THRESHOLD = default_threshold("dlib_resnet_v1_flip")
MARGIN = default_margin("dlib_resnet_v1_flip")


def photo(dataset, person, index):
    return sorted((dataset / "identities" / person).glob("*.jpg"))[index]


def test_same_person_is_below_and_different_people_above_the_threshold(faces_dataset, embed_largest):
    bush_a = embed_largest(photo(faces_dataset, "George_W_Bush", 0))
    bush_b = embed_largest(photo(faces_dataset, "George_W_Bush", 1))
    putin = embed_largest(photo(faces_dataset, "Vladimir_Putin", 0))
    assert np.isclose(np.linalg.norm(bush_a), 1.0, atol=1e-4)
    assert np.linalg.norm(bush_a - bush_b) < THRESHOLD
    assert np.linalg.norm(bush_a - putin) > THRESHOLD


def test_a_stranger_comes_back_unknown(faces_dataset, embed_largest):
    enrolled = ["George_W_Bush", "Vladimir_Putin", "Tony_Blair", "Hugo_Chavez"]
    gallery = Gallery([embed_largest(photo(faces_dataset, p, 0)) for p in enrolled], enrolled)
    stranger = embed_largest(photo(faces_dataset, "Jacques_Chirac", 1))
    known = embed_largest(photo(faces_dataset, "Tony_Blair", 1))
    stranger_match, known_match = match_faces(np.stack([stranger, known]), gallery, THRESHOLD, MARGIN)
    assert stranger_match.label is None and stranger_match.reason == "beyond_threshold"
    assert known_match.label == "Tony_Blair" and known_match.distance < THRESHOLD


def test_one_student_is_never_given_two_faces(faces_dataset, embed_largest):
    """Two faces (two photos of Bush) are both nearest to the enrolled Bush:
    only the closer one is matched; the other stays unknown ("taken")."""
    gallery = Gallery(
        [embed_largest(photo(faces_dataset, "George_W_Bush", 0)), embed_largest(photo(faces_dataset, "Tony_Blair", 0))],
        ["bush", "blair"],
    )
    faces = np.stack([embed_largest(photo(faces_dataset, "George_W_Bush", i)) for i in (1, 2)])
    matches = match_faces(faces, gallery, THRESHOLD, MARGIN)
    assert all(m.nearest_label == "bush" for m in matches)
    labels = [m.label for m in matches]
    assert labels.count("bush") == 1 and labels.count(None) == 1
    winner = labels.index("bush")
    assert matches[winner].distance <= matches[1 - winner].nearest_distance
    assert matches[1 - winner].reason == "taken"


def test_ambiguous_face_between_two_students_is_unknown():
    gallery = Gallery(np.array([[1.0, 0.0], [0.0, 1.0]]), ["ada", "bob"])
    between = np.array([[0.72, 0.69]]) / np.linalg.norm([0.72, 0.69])
    (match,) = match_faces(between, gallery, threshold=0.9, margin=0.05)
    assert match.label is None and match.reason == "ambiguous" and match.nearest_label == "ada"


def test_several_enrolment_photos_per_student_use_the_nearest():
    gallery = Gallery(np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]), ["ada", "ada", "bob"])
    (match,) = match_faces(np.array([[0.0, 1.0]]), gallery, threshold=0.5, margin=0.05)
    assert match.label == "ada" and match.distance == 0.0


def test_empty_gallery_and_no_faces():
    assert match_faces(np.zeros((2, 128)), Gallery([], []), 0.5, 0.05)[0].label is None
    assert match_faces(np.zeros((0, 2)), Gallery(np.eye(2), ["a", "b"]), 0.5, 0.05) == []
