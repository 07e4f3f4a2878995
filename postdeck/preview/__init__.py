"""`postdeck preview`: the plan as a calendar a person can look at, as a self-contained static site.

model (campaigns + ledger → the page's data), text (counts, cuts, diffs), thumbs (Pillow crops),
site (the HTML with its inline CSS, JS and data), serve (127.0.0.1, rebuilt when a campaign changes),
month_table (the compact Markdown month for a Prefect artifact). Pure but for the files it writes:
no Prefect, no provider client, no network.
"""
