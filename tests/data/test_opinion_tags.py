"""Silver opinion tags: lexicon mining, negation flips and the strongest-word pointer."""

from trustmap.data.opinion_tags import OpinionLexicon, log_odds_z, split_words, strongest_word, tag_words

LEX = OpinionLexicon(
    frozenset({"great", "moving"}),
    frozenset({"dull", "mess"}),
    {"great": 5.0, "moving": 3.0, "dull": -4.0, "mess": -6.0},
)


def test_words_keep_contractions_and_drop_punctuation():
    assert split_words("It isn't a GREAT film, really.") == ["it", "isn't", "a", "great", "film", "really"]


def test_tags_flip_within_three_words_after_a_negator():
    assert tag_words(split_words("a great and moving mess"), LEX) == [0, 1, 0, 1, 2]
    assert tag_words(split_words("not a great dull film"), LEX) == [0, 0, 2, 1, 0]
    # the fourth word after the negator is out of scope
    assert tag_words(split_words("never x y z great"), LEX) == [0, 0, 0, 0, 1]
    assert tag_words(split_words("it doesn't feel great"), LEX) == [0, 0, 0, 2]


def test_log_odds_ranks_a_class_specific_word_above_a_shared_one():
    a = [["good", "film"]] * 30 + [["film"]] * 10
    b = [["bad", "film"]] * 30 + [["film"]] * 10
    z = log_odds_z(a, b)
    assert z["good"] > 3 > abs(z["film"]) and z["bad"] < -3


def test_strongest_word_picks_the_largest_absolute_z():
    assert strongest_word(["a", "great", "mess"], LEX) == 2
    assert strongest_word(["a", "film"], LEX) == -1
