"""Messages whose advice is worded for where they are read: the window's words, or the command line's flags."""
import json
import pickle

import pytest

from desktop_app.core.errors import Advice, SatSegError, advised, cli_text
from desktop_app.core.samples import read_samples


def test_advice_is_the_window_text_and_keeps_the_command_line_text():
    said = advised("the server did not answer", cli="raise --timeout", app="try again later")
    assert said == "the server did not answer; try again later" and isinstance(said, str)
    assert cli_text(said) == "the server did not answer; raise --timeout"
    err = SatSegError(said)
    assert str(err) == "the server did not answer; try again later"
    assert cli_text(err) == "the server did not answer; raise --timeout"
    again = pickle.loads(pickle.dumps(err))       # e.g. from a dask worker
    assert isinstance(again.args[0], Advice) and cli_text(again) == cli_text(err)
    assert cli_text("plain") == "plain" and cli_text(SatSegError("plain")) == "plain"


def test_missing_class_field_in_the_window_words(tmp_path):
    path = tmp_path / "s.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"lc": "water"},
        "geometry": {"type": "Polygon", "coordinates": [[[77, 29], [77.01, 29], [77.01, 29.01], [77, 29]]]}}]}))
    with pytest.raises(SatSegError) as err:        # the window imports with the field 'class'
        read_samples(str(path), class_field="class")
    assert "rename the field" in str(err.value) and "--" not in str(err.value)
    assert cli_text(err.value).endswith("(fields: lc); choose the field with --class-field")
