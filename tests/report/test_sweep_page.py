"""The sweep's comparative page: escaped names, one linked cell per dimension, failed rows say why."""

from __future__ import annotations

from trustmap.report.sweep import render_sweep_html


def test_page_links_each_cell_and_escapes_names():
    doc = {
        "data": "digits",
        "budget": "quick",
        "seed": 0,
        "workers": 2,
        "seconds": 3.5,
        "models": [
            {
                "name": "<b>m1</b>",
                "model": "/x/<b>m1</b>.pt2",
                "status": "ok",
                "report": "m1/report.html",
                "grades": {"privacy": {"grade": "B", "score": 0.8}, "robustness": {"grade": "F", "score": 0.1}},
                "weaknesses": 1,
                "seconds": 1.0,
                "error": None,
            },
            {
                "name": "m2",
                "model": "/x/m2.pt2",
                "status": "failed",
                "report": None,
                "grades": {},
                "weaknesses": 0,
                "seconds": 0.1,
                "error": "corrupt <model>",
            },
        ],
    }
    page = render_sweep_html(doc)
    assert "<b>m1</b>" not in page and "&lt;b&gt;m1&lt;/b&gt;" in page
    assert page.count('href="m1/report.html#scorecard"') == 2
    assert 'class="grade g-F"' in page and 'class="grade g-B"' in page
    assert "failed: corrupt &lt;model&gt;" in page
    assert page.count('<td class="na">') == 2 + 4  # m1: fairness, security; m2: all four
