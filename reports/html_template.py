"""The HTML page of the daily report (a Jinja2 template, autoescaped).

Kept in a Python module rather than a data file so it ships with the package without any
package-data configuration. The page is self-contained: charts are embedded as base64 PNGs,
so the file opens the same in a browser, as a Telegram document or as an e-mail attachment.
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
  body { font-family: -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0 auto;
         max-width: 1100px; padding: 16px; color: #1f2933; background: #f7f8fa; }
  h1 { font-size: 1.6em; margin-bottom: 0.2em; }
  .meta { color: #616e7c; font-size: 0.9em; margin-bottom: 1.2em; }
  .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px; }
  .card { background: #fff; border-radius: 8px; padding: 10px 12px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  .card .label { color: #616e7c; font-size: 0.85em; }
  .card .value { font-size: 1.45em; font-weight: 600; margin: 4px 0; }
  .card .change { font-size: 0.85em; color: #616e7c; }
  tr.short td { background: #fde2e1; }
  .card.flagged { box-shadow: 0 0 0 2px #e08a1e inset, 0 1px 2px rgba(0,0,0,.08); }
  .card .flag { font-size: 0.85em; margin-top: 4px; }
  .flags { background: #fff7e6; border-left: 4px solid #e08a1e; padding: 8px 12px; border-radius: 4px;
           list-style: none; }
  .flags li { margin: 3px 0; }
  .good { color: #1b7f3b; } .bad { color: #b42318; } .neutral { color: #616e7c; }
  .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 12px; }
  .charts figure { background: #fff; margin: 0; padding: 8px; border-radius: 8px; }
  .charts img { width: 100%; height: auto; }
  table { border-collapse: collapse; width: 100%; background: #fff; font-size: 0.9em; }
  th, td { padding: 6px 8px; border-bottom: 1px solid #e4e7eb; text-align: right; }
  th:first-child, td:first-child, th.text, td.text, table.text th, table.text td { text-align: left; }
  .nowrap, td:first-child { white-space: nowrap; }
  th { background: #eef1f4; }
  section { margin-top: 1.6em; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<div class="meta">{{ version_line }}<br>{{ freshness_line }}{% if subtitle %}<br>{{ subtitle }}{% endif %}</div>
{% if flags %}
<section id="flags">
<h2>{{ t.flags_section }}</h2>
<ul class="flags">
{% for flag in flags %}  <li class="{{ flag.css }}" data-kpi="{{ flag.kpi }}">⚠ {{ flag.text }}</li>
{% endfor %}</ul>
</section>
{% endif %}

<section id="kpis">
<h2>{{ t.kpi_section }}</h2>
<div class="cards">
{% for card in cards %}
  <div class="card{% if card.flag %} flagged{% endif %}" data-kpi="{{ card.name }}">
    <div class="label">{{ card.label }}</div>
    <div class="value">{{ card.value }}</div>
    <div class="change">{% if card.change %}<span class="{{ card.direction }}">{{ card.change_only }} <span class="nowrap">{{ card.versus }}</span></span><br>{% endif %}{{ card.previous_line }}</div>
    {% if card.flag %}<div class="flag {{ card.flag_class }}">{{ card.flag }}</div>{% endif %}
  </div>
{% endfor %}
</div>
</section>

<section id="charts">
<h2>{{ charts_title }}</h2>
<div class="charts">
{% for chart in charts %}
  <figure><img src="data:image/png;base64,{{ chart.base64 }}" alt="{{ chart.title }}" data-file="{{ chart.file }}">
  <figcaption>{{ chart.title }}</figcaption></figure>
{% endfor %}
</div>
</section>

{% for table in tables %}
<section id="{{ table.id }}">
<h2>{{ table.title }}</h2>
<table{% if table.get("text") %} class="text"{% endif %}>
<thead><tr>{% for h in table.header %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in table.rows %}<tr{% if table.get("row_classes") and table.row_classes[loop.index0] %} class="{{ table.row_classes[loop.index0] }}"{% endif %}>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
{% if table.get("note") %}<p class="note">{{ table.note }}</p>{% endif %}
</section>
{% endfor %}
{% if footer %}<footer id="data-issues"><p class="note">{{ footer }}</p></footer>
{% endif %}</body>
</html>
"""
