"""What the composer page posts, built the way its script builds it (formset rows renumbered,
management forms counted), and small readers for the page that comes back."""

from html.parser import HTMLParser

from django.core.files.storage import default_storage
from django.test import Client

from tests.conftest import upload

KLING_26 = "kwaivgi/kling-2.6/image-to-video"
KLING_30 = "kwaivgi/kling-3.0/image-to-video"
PROMPT = "A lighthouse keeper climbs the stairs"


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def rows(prefix, items):
    """A formset's fields: its management form and one `prefix-N-field` per row value."""
    data = {f"{prefix}-TOTAL_FORMS": str(len(items)), f"{prefix}-INITIAL_FORMS": "0"}
    for index, item in enumerate(items):
        for name, value in item.items():
            if value is not None:
                data[f"{prefix}-{index}-{name}"] = value
    return data


def shot_rows(*shots):
    return rows("shots", [{"prompt": prompt, "duration": None if seconds is None else str(seconds)}
                          for prompt, seconds in shots])


def element_rows(*elements):
    """Each element a dict: name, frontal (an upload), references (a list of uploads)."""
    return rows("elements", [{"name": e.get("name", ""), "frontal_image": e.get("frontal"),
                              "references": e.get("references")} for e in elements])


def element(name="Mia", references=0, frontal=True):
    return {"name": name,
            "frontal": upload(color=(250, 200, 160)) if frontal else None,
            "references": [upload(color=(10 * n, 90, 90)) for n in range(references)] or None}


def composer_post(model=KLING_30, mode="pro", duration=5, prompt=PROMPT, audio=False,
                  multi_shot=False, shot_type="intelligence", shots=(), elements=(),
                  start_frame=True, **extra):
    """The composer's fields: a single shot of Kling 3.0 unless told otherwise."""
    data = {"model": model, "mode": mode, "duration": str(duration), "prompt": prompt,
            "negative_prompt": "", "multi_shot": "1" if multi_shot else "0",
            "shot_type": shot_type}
    if audio:
        data["generate_audio"] = "on"
    if start_frame:
        data["start_frame"] = upload()
    if shots:
        data.update(shot_rows(*shots))
    if elements:
        data.update(element_rows(*elements))
    data.update(extra)
    return {key: value for key, value in data.items() if value is not None}


def storyboard_post(*shots, duration=5, **changes):
    """A custom storyboard; by default two shots that add up to 5 seconds."""
    shots = shots or (("The door opens", 2), ("A cat walks in", 3))
    return composer_post(duration=duration, prompt="", multi_shot=True, shot_type="customize",
                         shots=shots, **changes)


class _Page(HTMLParser):
    """The text inside the element with a given id, and every input, textarea and option."""

    def __init__(self, element_id):
        super().__init__(convert_charrefs=True)
        self.element_id, self.tag, self.depth = element_id, None, 0
        self.text, self.inputs, self.textareas = [], [], {}
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input":
            self.inputs.append(attrs)
        if tag == "textarea":
            self._textarea = attrs.get("name")
            self.textareas[self._textarea] = ""
        if self.tag is None and attrs.get("id") == self.element_id:
            self.tag, self.depth = tag, 1
        elif self.depth and tag == self.tag:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        if self.depth and tag == self.tag:
            self.depth -= 1

    def handle_data(self, data):
        if self._textarea:
            self.textareas[self._textarea] += data
        if self.depth:
            self.text.append(data)


def read(html, element_id=""):
    page = _Page(element_id)
    page.feed(html)
    return page


def text_of(html, element_id):
    page = read(html, element_id)
    assert page.tag, f"no element with id={element_id!r} on the page"
    return " ".join("".join(page.text).split())


def values(html, name):
    """Every value posted under `name` by the page's inputs (hidden ones included)."""
    return [i.get("value") for i in read(html).inputs if i.get("name") == name]


def textarea(html, name):
    return read(html).textareas.get(name, "").lstrip("\n")


def stored(name):
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def checked(html, name):
    """The values of the checked radio buttons or checkboxes called `name`."""
    return [i.get("value") for i in read(html).inputs
            if i.get("name") == name and "checked" in i]


def selected(html, select_id):
    """The value of the selected option of a <select>."""
    import re

    block = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.search(r'<option value="([^"]*)"[^>]*selected', block).group(1)
