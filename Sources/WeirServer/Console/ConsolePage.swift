/// The console's one HTML page: a header with the navigation, a message line, and `main`, which
/// `ConsoleScript` fills for the view the URL's hash names (`#/topics`, `#/groups/g`, …).
enum ConsolePage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Weir console</title>
<link rel="stylesheet" href="/console.css">
</head>
<body>
<header>
  <a class="brand" href="#/">Weir</a>
  <nav>
    <a href="#/" data-nav="overview">Overview</a>
    <a href="#/topics" data-nav="topics">Topics</a>
    <a href="#/groups" data-nav="groups">Groups</a>
    <a href="#/snapshots" data-nav="snapshots">Snapshots</a>
  </nav>
  <span id="broker-line"></span>
</header>
<div id="message" role="status" hidden></div>
<main id="main"><p>Loading…</p></main>
<noscript><p class="noscript">The console needs JavaScript; the same data is JSON under <a href="/v1/broker">/v1/</a>.</p></noscript>
<script src="/console.js"></script>
</body>
</html>
"""#
}
