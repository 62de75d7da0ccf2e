/* agents-mcp viewer: renders a simulation or a test run from a tool result's structuredContent
 * (and, for a simulation summary, the prose of its text).
 *
 * Two ways in, one renderer:
 *  - standalone report: the data is embedded in the JSON block #report-data
 *    as {result: {structuredContent, content}, transcript?}; nothing is fetched.
 *  - MCP App (io.modelcontextprotocol/ui): ui/initialize -> ui/notifications/initialized, then
 *    the host's ui/notifications/tool-result; the view may call tools through the host
 *    (tools/call get_simulation detail="transcript") when the host offers serverTools.
 * Rules: every text from the data goes in through textContent (never innerHTML); nothing external
 * is loaded (hosts apply a CSP); document.body.dataset.state says "waiting", "ready" or "error".
 */
(function () {
  "use strict";

  var PROTOCOL_VERSION = "2026-01-26";
  var MAX_TRANSCRIPT_PAGES = 20;
  var SIDE_TURNS = 12;

  // --- DOM ---------------------------------------------------------------------------------------

  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      for (var key in attrs) {
        var v = attrs[key];
        if (v === null || v === undefined || v === false) continue;
        if (key === "class") el.className = v;
        else if (key === "text") el.textContent = String(v);
        else if (key === "onclick") el.addEventListener("click", v);
        else el.setAttribute(key, v === true ? "" : String(v));
      }
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }

  function append(el, kid) {
    if (kid === null || kid === undefined || kid === false) return;
    if (Array.isArray(kid)) kid.forEach(function (k) { append(el, k); });
    else el.appendChild(typeof kid === "object" ? kid : document.createTextNode(String(kid)));
  }

  function pill(text, kind) { return h("span", { class: "pill " + (kind || ""), text: text }); }

  function verdictKind(result) {
    if (result === "success" || result === "passed" || result === "done") return "ok";
    if (result === "failure" || result === "failed" || result === "regressed") return "bad";
    if (result === "improved") return "ok";
    if (result === "running" || result === "queued" || result === "new") return "info";
    return "warn";
  }

  var VERDICT_WORDS = { success: "passed", failure: "failed" };

  function str(value) {
    if (value === null || value === undefined) return "";
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  // --- simulation --------------------------------------------------------------------------------

  /** A turn in either shape: condensed ({i, role, text, tools}) or the API's own
   * ({role, message, tool_calls, tool_results}). */
  function normTurn(t, index) {
    var tools = [];
    if (Array.isArray(t.tools)) tools = t.tools;
    (t.tool_calls || []).forEach(function (c) {
      tools.push({ call: c.tool_name || "?", params: str(c.params_as_json) });
    });
    (t.tool_results || []).forEach(function (r) {
      tools.push({ result: r.tool_name || "?", value: str(r.result_value), error: !!r.is_error });
    });
    return {
      i: typeof t.i === "number" ? t.i : index,
      role: t.role || "?",
      text: t.text !== undefined ? t.text : t.message || "",
      tools: tools,
      interrupted: !!t.interrupted,
    };
  }

  function turnView(raw, index, opts) {
    var t = normTurn(raw, index);
    var failed = t.tools.some(function (x) { return x.result !== undefined && x.error; });
    var cls = "turn " + (t.role === "agent" ? "agent" : "user") + (failed ? " failed" : "");
    if (opts && opts.divergent) cls += " divergent";
    var number = opts && opts.number !== undefined ? opts.number : t.i;
    var who = "#" + number + " " + t.role + (t.interrupted ? " (interrupted)" : "");
    return h("div", { class: cls, "data-turn": number },
      h("div", { class: "who", text: who }),
      t.text ? h("div", { class: "text", text: t.text }) : null,
      t.tools.map(function (x) {
        if (x.call !== undefined) {
          return h("div", { class: "tool call" }, "→ call " + x.call + " ",
            h("span", { class: "muted", text: x.params || "" }));
        }
        return h("div", { class: "tool result " + (x.error ? "bad" : "ok") },
          (x.error ? "✗ FAILED " : "← ") + x.result + ": " + (x.value || ""));
      }));
  }

  /** A simulation summary's prose lives in its text, once (the structured content has the ids,
   * verdicts and counts): the lines agents_mcp/simulations/summary.py writes are read back here.
   * Title:/Summary:/Error: lines; "- MARK id — why" under "Criteria (…):"; "- turn N tool…"
   * under "Tool calls:"; "- #i role: text" under "Key turns:"; the next call. */
  function textFacts(text) {
    var facts = { why: {}, toolErrors: [], keyTurns: [] };
    var section = "";
    String(text || "").split("\n").forEach(function (line) {
      var m = /^(Title|Summary|Error): (.*)$/.exec(line);
      if (m) { facts[m[1].toLowerCase()] = m[2]; section = ""; return; }
      m = /^(?:Every turn|Not finished yet\. To keep waiting): (get_simulation\(.*\))$/.exec(line);
      if (m) { facts.next = m[1]; section = ""; return; }
      if (/^Criteria \(.*\):$/.test(line)) { section = "criteria"; return; }
      if (/^Tool calls: \d+, \d+ failed:$/.test(line)) { section = "tools"; return; }
      if (line === "Key turns:") { section = "turns"; return; }
      if (line.slice(0, 2) !== "- ") { section = ""; return; }
      if (section === "criteria") {
        m = /^- (?:ok|[A-Z][A-Z ]*?)(?: \(guessed\))? (\S+) — (.*)$/.exec(line);
        if (m) facts.why[m[1]] = m[2];
      } else if (section === "tools") {
        m = /^- turn (\d+) (.*)$/.exec(line);
        if (m) facts.toolErrors.push({ turn: Number(m[1]), text: m[2] });
      } else if (section === "turns") {
        m = /^- #(\d+) (\S+): (.*)$/.exec(line);
        if (m) facts.keyTurns.push({ i: Number(m[1]), role: m[2], text: m[3] });
      }
    });
    return facts;
  }

  function criteriaView(criteria, why) {
    return h("ul", { class: "plain criteria" }, criteria.map(function (c) {
      var word = VERDICT_WORDS[c.result] || c.result;
      var reason = c.why || why[c.id];
      return h("li", { class: "row", "data-criterion": c.id },
        pill(word, verdictKind(c.result)),
        h("div", { class: "grow" }, h("code", { text: c.id }),
          reason ? h("p", { class: "muted", text: reason }) : null));
    }));
  }

  /** One failed tool call: "tool(params): error" from the text's line for it (same order as
   * the structured list), or from the entry itself. */
  function toolErrorText(e, index, facts) {
    var line = facts.toolErrors[index];
    if (line && line.turn === e.turn && line.text.indexOf(e.tool) === 0) return line.text;
    return e.tool + (e.params ? "(" + e.params + ")" : "") + (e.error ? ": " + e.error : "");
  }

  function simulationView(sc, extra, text) {
    var facts = textFacts(text);
    var box = h("div", { class: "simulation" });
    var title = sc.title || facts.title || "Simulation";
    box.appendChild(h("h1", { text: title }));
    var counts = sc.turns && typeof sc.turns === "object" && !Array.isArray(sc.turns) ? sc.turns : null;
    box.appendChild(h("div", { class: "meta" },
      pill(sc.status, verdictKind(sc.status)),
      sc.outcome ? pill("outcome: " + sc.outcome, verdictKind(sc.outcome)) : null,
      h("span", { class: "mono", text: sc.simulation_id }),
      sc.agent_id ? h("span", { class: "mono", text: sc.agent_id }) : null,
      counts ? h("span", { text: counts.total + " turns" }) : null,
      sc.tools ? h("span", { text: sc.tools.calls + " tool calls, " + sc.tools.failed + " failed" }) : null,
      sc.llm ? h("span", { text: sc.llm.tokens + " tokens, $" + Number(sc.llm.cost).toFixed(4) }) : null));
    var error = sc.error || facts.error;
    var summary = sc.summary || facts.summary;
    if (error) box.appendChild(h("div", { class: "banner bad", text: error }));
    if (summary) box.appendChild(h("p", { class: "summary", text: summary }));
    if (Array.isArray(sc.criteria) && sc.criteria.length) {
      box.appendChild(h("h2", { text: "Criteria" }));
      box.appendChild(criteriaView(sc.criteria, facts.why));
    }
    if (sc.data && Object.keys(sc.data).length) {
      box.appendChild(h("h2", { text: "Data collected" }));
      box.appendChild(h("ul", { class: "plain" }, Object.keys(sc.data).map(function (k) {
        return h("li", { class: "row" }, h("code", { text: k }), h("span", { text: str(sc.data[k]) }));
      })));
    }
    if (sc.tools && Array.isArray(sc.tools.errors) && sc.tools.errors.length) {
      box.appendChild(h("h2", { text: "Failed tool calls" }));
      box.appendChild(h("ul", { class: "plain tool-errors" }, sc.tools.errors.map(function (e, i) {
        return h("li", {}, h("div", { class: "tool result bad" },
          "turn " + e.turn + " · " + toolErrorText(e, i, facts)));
      })));
    }
    if (sc.detail === "full") {
      box.appendChild(h("h2", { text: "Raw JSON, page " + sc.page + " of " + sc.pages }));
      box.appendChild(h("pre", { class: "raw", text: sc.json || "" }));
      return box;
    }
    box.appendChild(h("h2", { text: "Transcript" }));
    var holder = h("div", { class: "transcript" });
    box.appendChild(holder);
    if (sc.detail === "transcript") {
      showTurns(holder, sc.turns || [], sc.pages > 1 ? "page " + sc.page + " of " + sc.pages : "");
    } else if (extra && Array.isArray(extra.transcript)) {
      showTurns(holder, extra.transcript, "");
    } else if (bridge.canCallTools()) {
      holder.appendChild(h("p", { class: "muted", text: "Loading the transcript…" }));
      fetchTranscript(sc.simulation_id).then(function (turns) {
        holder.replaceChildren();
        showTurns(holder, turns, "");
        sizeChanged();
      }, function (err) {
        holder.replaceChildren(h("div", { class: "banner warn", text: "Transcript not loaded: " + err.message }));
        keyTurns(holder, sc, facts);
      });
    } else {
      keyTurns(holder, sc, facts);
    }
    var next = sc.next || facts.next;
    if (next && sc.status !== "done") box.appendChild(h("p", { class: "muted" }, "Next: ", h("code", { text: next })));
    return box;
  }

  function showTurns(holder, turns, note) {
    if (note) holder.appendChild(h("p", { class: "muted", text: note }));
    if (!turns.length) { holder.appendChild(h("p", { class: "muted", text: "No turns." })); return; }
    holder.appendChild(h("div", { class: "timeline" }, turns.map(function (t, i) { return turnView(t, i); })));
  }

  function keyTurns(holder, sc, facts) {
    var key = Array.isArray(sc.key_turns) && sc.key_turns.length ? sc.key_turns : facts.keyTurns;
    var next = sc.next || facts.next;
    if (key.length) {
      holder.appendChild(h("p", { class: "muted", text: "Key turns (the full transcript: " + (next || "get_simulation detail=transcript") + ")" }));
      holder.appendChild(h("div", { class: "timeline" }, key.map(function (t, i) { return turnView(t, i); })));
    } else if (next) {
      holder.appendChild(h("p", { class: "muted" }, "Transcript: ", h("code", { text: next })));
    }
  }

  function fetchTranscript(simulationId) {
    var turns = [];
    function page(n) {
      var args = { simulation_id: simulationId, detail: "transcript", page: n };
      return bridge.callTool("get_simulation", args).then(function (res) {
        var sc = res.structuredContent || {};
        if (res.isError || !Array.isArray(sc.turns)) throw new Error(resultText(res) || "no turns");
        turns = turns.concat(sc.turns);
        if (sc.page < sc.pages && n < MAX_TRANSCRIPT_PAGES) return page(n + 1);
        return turns;
      });
    }
    return page(1);
  }

  // --- test run ----------------------------------------------------------------------------------

  /** Per-run cells for one test: failed runs from `failures`, passes in the other finished slots. */
  function runCells(test, repeat) {
    var failedRuns = {};
    (test.failures || []).forEach(function (f) { failedRuns[f.run] = true; });
    var unlistedFails = Math.max(0, test.total - test.passed - Object.keys(failedRuns).length);
    var passes = test.passed;
    var cells = [];
    for (var r = 1; r <= Math.max(repeat, test.total); r++) {
      if (failedRuns[r]) cells.push("bad");
      else if (passes > 0) { cells.push("ok"); passes--; }
      else if (unlistedFails > 0) { cells.push("bad"); unlistedFails--; }
      else cells.push("pending");
    }
    return cells;
  }

  var CELL_MARK = { ok: "✓", bad: "✗", pending: "·" };
  var CELL_TITLE = { ok: "passed", bad: "failed", pending: "not finished" };

  function rateTable(run, tests) {
    var repeat = run.repeat || 1;
    var hasBaseline = tests.some(function (t) { return t.baseline; });
    var head = [h("th", { text: "Test" }), h("th", { class: "num" }, h("span", { class: "long", text: "Pass " }), "rate")];
    for (var r = 1; r <= repeat; r++) head.push(h("th", { class: "num" }, h("span", { class: "long", text: "Run " }), h("span", { class: "short", text: "#" }), String(r)));
    if (hasBaseline) head.push(h("th", {}, h("span", { class: "long", text: "vs " }), "baseline"));
    var rows = tests.map(function (t) {
      var cells = runCells(t, repeat).map(function (c, i) {
        return h("td", { class: "num" }, h("span", {
          class: "cell " + c, title: "run " + (i + 1) + ": " + CELL_TITLE[c], "data-run": i + 1, text: CELL_MARK[c],
        }));
      });
      var name = h("td", { class: "name" }, h("span", { text: t.name }), " ",
        t.flaky ? pill("flaky", "warn") : null);
      var row = [name, h("td", { class: "num rate" }, h("b", { text: t.rate }))].concat(cells);
      if (hasBaseline) {
        row.push(h("td", {}, t.delta ? h("span", { class: "mono", text: t.delta }) : h("span", { class: "muted", text: "—" }),
          " ", t.change ? pill(t.change, verdictKind(t.change)) : null));
      }
      return h("tr", { class: t.change === "regressed" ? "regressed" : null, "data-test": t.name }, row);
    });
    return h("div", { class: "scroll" }, h("table", { class: "rates" }, h("thead", {}, h("tr", {}, head)), h("tbody", {}, rows)));
  }

  function conditionsView(test) {
    return h("div", { class: "conditions" }, (test.conditions || []).map(function (c) {
      var pct = c.total ? Math.round((100 * c.held) / c.total) : 0;
      var failing = c.held < c.total;
      return h("div", { class: "cond" + (failing ? " failing" : ""), "data-condition": c.text },
        h("span", { class: "ctext", text: c.text }),
        h("b", { class: "num", text: c.held + "/" + c.total }),
        h("div", { class: "bar", title: pct + "% held" }, h("span", { style: "width:" + pct + "%" })));
    }));
  }

  function sideView(kind, runNo, turns, start, single) {
    var box = h("div", { class: "side " + kind }, h("h4", { text: (kind === "pass" ? "passing" : "failing") + " run " + runNo }));
    if (turns) {
      var shown = turns.slice(start, start + SIDE_TURNS);
      shown.forEach(function (t, k) { box.appendChild(turnView(t, k, { divergent: k === 0, number: start + k + 1 })); });
      if (!shown.length) box.appendChild(h("p", { class: "muted", text: "(this run had ended)" }));
      if (turns.length > start + SIDE_TURNS) box.appendChild(h("p", { class: "muted", text: "… " + (turns.length - start - SIDE_TURNS) + " more turns" }));
    } else if (single) {
      box.appendChild(turnView(single, 0, { divergent: true, number: start + 1 }));
    } else {
      box.appendChild(h("p", { class: "muted", text: "(this run had ended)" }));
    }
    return box;
  }

  /** The passing and failing runs side by side from the turn where they part: whole runs when
   * their turns are at hand (a report's data, or fetched through the host), else that turn. */
  function divergenceView(test, transcripts, runId) {
    var d = test.divergence;
    var start = d.turn - 1;
    function sides(runs) {
      var passTurns = runs ? runs[String(d.passing_run)] : null;
      var failTurns = runs ? runs[String(d.failing_run)] : null;
      return h("div", { class: "sides" },
        sideView("pass", d.passing_run, passTurns, start, d.passing),
        sideView("fail", d.failing_run, failTurns, start, d.failing));
    }
    var runs = transcripts && transcripts[test.name];
    var holder = sides(runs);
    var box = h("div", { class: "divergence" },
      h("h3", { text: "Runs " + d.passing_run + " and " + d.failing_run + " part at turn " + d.turn }), holder);
    if (!runs && runId && bridge.canCallTools()) {
      fetchTestTranscript(runId, test.name).then(function (byRun) {
        box.replaceChild(sides(byRun), holder);
        sizeChanged();
      }, function () { /* the divergent turn alone stays shown */ });
    }
    return box;
  }

  /** {run number: turns} of one side (default the candidate; the baseline's are numbered 1, 2.. too). */
  function groupByRun(turns, side) {
    var byRun = {};
    turns.forEach(function (t) {
      if ((t.side || "candidate") === (side || "candidate")) (byRun[String(t.run)] = byRun[String(t.run)] || []).push(t);
    });
    return byRun;
  }

  function fetchTestTranscript(runId, name) {
    var turns = [];
    function page(n) {
      var args = { run_id: runId, detail: "transcript", test: name, page: n };
      return bridge.callTool("get_test_results", args).then(function (res) {
        var sc = res.structuredContent || {};
        if (res.isError || !Array.isArray(sc.turns)) throw new Error(resultText(res) || "no turns");
        turns = turns.concat(sc.turns);
        // the baseline's turns come after the candidate's: once they start, nothing is left
        var last = sc.turns[sc.turns.length - 1];
        var more = sc.page < sc.pages && !(last && last.side === "baseline");
        if (more && n < MAX_TRANSCRIPT_PAGES) return page(n + 1);
        return groupByRun(turns);
      });
    }
    return page(1);
  }

  /** get_test_results(detail="transcript"): one test's runs, each as a timeline. */
  function testTranscriptView(sc) {
    var box = h("div", { class: "test-transcript" },
      h("h1", { text: sc.test || "Transcript" }),
      h("div", { class: "meta" }, pill(sc.status, verdictKind(sc.status)), h("span", { class: "mono", text: sc.run_id }),
        sc.pages > 1 ? h("span", { text: "page " + sc.page + " of " + sc.pages }) : null));
    ["candidate", "baseline"].forEach(function (side) {
      var byRun = groupByRun(sc.turns || [], side);
      Object.keys(byRun).sort(function (a, b) { return a - b; }).forEach(function (run) {
        box.appendChild(h("h2", { text: (side === "baseline" ? "Baseline run " : "Run ") + run }));
        box.appendChild(h("div", { class: "timeline", "data-run": run, "data-side": side },
          byRun[run].map(function (t, i) { return turnView(t, i); })));
      });
    });
    if (sc.next) box.appendChild(h("p", { class: "muted" }, "Next: ", h("code", { text: sc.next })));
    return box;
  }

  function testDetail(test, transcripts, runId) {
    var box = h("div", { class: "card test", "data-test": test.name },
      h("div", { class: "row" }, h("b", { class: "grow", text: test.name }),
        test.flaky ? pill("flaky", "warn") : null,
        pill(test.rate, test.passed === test.total && test.total ? "ok" : "bad")));
    if (test.delta) box.appendChild(h("p", { class: "muted", text: "baseline " + test.delta + (test.change ? " (" + test.change + ")" : "") }));
    if ((test.conditions || []).length) box.appendChild(conditionsView(test));
    if ((test.failures || []).length) {
      box.appendChild(h("h3", { text: "Failures" }));
      box.appendChild(h("ul", { class: "plain failures" }, test.failures.map(function (f) {
        return h("li", {}, h("b", { text: "run " + f.run + ": " }),
          f.condition ? h("span", { class: "failed-condition", text: f.condition }) : h("span", { text: "the run failed" }),
          f.reason ? h("p", { class: "muted", text: f.reason }) : null);
      })));
    }
    if (test.divergence) box.appendChild(divergenceView(test, transcripts, runId));
    if ((test.triage || []).length) {
      box.appendChild(h("ul", { class: "plain triage" }, test.triage.map(function (t) {
        return h("li", { class: "row" }, pill(t.kind === "test" ? "fix the test" : "fix the agent", t.kind === "test" ? "info" : "warn"),
          h("span", { class: "grow", text: t.hint }));
      })));
    }
    return box;
  }

  function testRunView(run, extra) {
    var tests = (run.tests || []).slice();
    var regressed = {};
    (run.regressions || []).forEach(function (n) { regressed[n] = true; });
    tests.sort(function (a, b) { return (regressed[b.name] ? 1 : 0) - (regressed[a.name] ? 1 : 0); });
    var c = run.runs || {};
    var box = h("div", { class: "test-run" },
      h("h1", { text: "Test run" }),
      h("div", { class: "meta" },
        pill(run.status, verdictKind(run.status)),
        h("span", { class: "mono", text: run.run_id }),
        h("span", { class: "mono", text: run.agent_id + (run.branch_id ? " @ " + run.branch_id : "") }),
        h("span", { text: c.passed + " of " + c.total + " runs passed" + (c.failed ? ", " + c.failed + " failed" : "") + (c.cancelled ? ", " + c.cancelled + " cancelled" : "") }),
        h("span", { text: "× " + run.repeat + " repeats" }),
        run.credits_used !== undefined ? h("span", { text: run.credits_used + " credits" }) : null));
    if (run.error) box.appendChild(h("div", { class: "banner bad", text: run.error }));
    if (run.baseline) {
      var b = run.baseline;
      var against = b.source === "stored" ? "stored run " + b.run_id : "a live run of " + b.agent_id + (b.branch_id ? " @ " + b.branch_id : "");
      box.appendChild(h("p", { class: "muted", text: "Compared with " + against }));
    }
    if ((run.regressions || []).length) {
      box.appendChild(h("div", { class: "banner bad regressions" }, h("b", { text: "Regressions: " }),
        run.regressions.map(function (n, i) {
          var t = tests.filter(function (x) { return x.name === n; })[0];
          return [i ? ", " : "", n + (t && t.delta ? " (" + t.delta + ")" : "")];
        })));
    }
    box.appendChild(h("h2", { text: "Pass rates" }));
    box.appendChild(rateTable(run, tests));
    box.appendChild(h("h2", { text: "Tests" }));
    var transcripts = extra && extra.transcript && !Array.isArray(extra.transcript) ? extra.transcript : null;
    tests.forEach(function (t) { box.appendChild(testDetail(t, transcripts, run.run_id)); });
    if (run.next_call) box.appendChild(h("p", { class: "muted" }, "Next: ", h("code", { text: run.next_call })));
    return box;
  }

  // --- dispatch ----------------------------------------------------------------------------------

  function resultText(res) {
    return (res && res.content || []).map(function (b) { return b.text || ""; }).join("\n");
  }

  function render(result, extra) {
    var root = document.getElementById("app");
    root.replaceChildren();
    var sc = result && (result.structuredContent || result.structured_content);
    try {
      if (sc && sc.run_id && Array.isArray(sc.tests)) root.appendChild(testRunView(sc, extra));
      else if (sc && sc.run_id && sc.detail === "transcript") root.appendChild(testTranscriptView(sc));
      else if (sc && sc.simulation_id) root.appendChild(simulationView(sc, extra, resultText(result)));
      else {
        root.appendChild(h("div", { class: result && result.isError ? "banner bad" : "card" },
          h("pre", { class: "raw", text: resultText(result) || "(empty result)" })));
      }
      document.body.dataset.kind = sc && sc.run_id ? "test-run" : sc && sc.simulation_id ? "simulation" : "text";
      document.body.dataset.state = "ready";
    } catch (err) {
      root.replaceChildren(h("div", { class: "banner bad", text: "Could not show this result: " + err.message }),
        h("pre", { class: "raw", text: resultText(result) }));
      document.body.dataset.state = "error";
    }
    sizeChanged();
  }

  // --- the MCP Apps bridge -----------------------------------------------------------------------

  var bridge = (function () {
    var nextId = 1;
    var pending = {};
    var hostCapabilities = null;
    var embedded = false;
    var initialized = false; // nothing is sent to the host before the handshake is done

    function post(message) { window.parent.postMessage(message, "*"); }
    function notify(method, params) { post({ jsonrpc: "2.0", method: method, params: params || {} }); }
    function request(method, params) {
      var id = nextId++;
      post({ jsonrpc: "2.0", id: id, method: method, params: params || {} });
      return new Promise(function (resolve, reject) {
        pending[id] = { resolve: resolve, reject: reject };
        setTimeout(function () {
          if (pending[id]) { delete pending[id]; reject(new Error(method + " timed out")); }
        }, 120000);
      });
    }

    function onMessage(ev) {
      if (ev.source !== window.parent) return;
      var m = ev.data;
      if (!m || m.jsonrpc !== "2.0") return;
      if (m.method === undefined && m.id !== undefined) {
        var p = pending[m.id];
        if (!p) return;
        delete pending[m.id];
        if (m.error) p.reject(new Error(m.error.message || "error " + m.error.code));
        else p.resolve(m.result);
        return;
      }
      switch (m.method) {
        case "ui/notifications/tool-result": render(m.params || {}); break;
        case "ui/notifications/tool-input": break; // the result says everything we show
        case "ui/notifications/tool-cancelled":
          document.getElementById("app").replaceChildren(h("div", { class: "banner warn", text: "Cancelled" + (m.params && m.params.reason ? ": " + m.params.reason : "") }));
          document.body.dataset.state = "ready";
          break;
        case "ui/notifications/host-context-changed": applyContext(m.params || {}); break;
        case "ui/resource-teardown":
        case "ping":
          if (m.id !== undefined) post({ jsonrpc: "2.0", id: m.id, result: {} });
          break;
        default:
          if (m.id !== undefined) post({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "Method not found" } });
      }
    }

    function start() {
      embedded = window.parent !== window;
      window.addEventListener("message", onMessage);
      if (!embedded) return;
      request("ui/initialize", {
        appInfo: { name: "agents-mcp viewer", version: "1" },
        appCapabilities: { availableDisplayModes: ["inline", "fullscreen"] },
        protocolVersion: PROTOCOL_VERSION,
      }).then(function (res) {
        hostCapabilities = (res && res.hostCapabilities) || {};
        applyContext((res && res.hostContext) || {});
        notify("ui/notifications/initialized", {});
        initialized = true;
        sizeChanged();
      }, function (err) {
        document.getElementById("app").replaceChildren(h("div", { class: "banner bad", text: "The host did not answer: " + err.message }));
        document.body.dataset.state = "error";
      });
    }

    return {
      start: start,
      notify: notify,
      isEmbedded: function () { return embedded; },
      isInitialized: function () { return initialized; },
      canCallTools: function () { return !!(hostCapabilities && hostCapabilities.serverTools); },
      callTool: function (name, args) { return request("tools/call", { name: name, arguments: args }); },
    };
  })();

  function applyContext(ctx) {
    var rootEl = document.documentElement;
    if (ctx.theme === "light" || ctx.theme === "dark") rootEl.dataset.theme = ctx.theme;
    var styles = ctx.styles || {};
    var vars = styles.variables || {};
    Object.keys(vars).forEach(function (k) {
      if (k.indexOf("--") === 0 && typeof vars[k] === "string") rootEl.style.setProperty(k, vars[k]);
    });
    if (styles.css && typeof styles.css.fonts === "string") {
      var el = document.getElementById("host-fonts") || document.head.appendChild(h("style", { id: "host-fonts" }));
      el.textContent = styles.css.fonts;
    }
  }

  var lastSize = "";
  function sizeChanged() {
    if (!bridge.isInitialized()) return;
    var el = document.documentElement;
    var size = { width: Math.ceil(el.scrollWidth), height: Math.ceil(el.scrollHeight) };
    var key = size.width + "x" + size.height;
    if (key === lastSize) return;
    lastSize = key;
    bridge.notify("ui/notifications/size-changed", size);
  }

  // --- start -------------------------------------------------------------------------------------

  var dataEl = document.getElementById("report-data");
  var data = dataEl && dataEl.textContent.trim() ? JSON.parse(dataEl.textContent) : null;
  if (data) {
    render(data.result || {}, data); // a standalone report: no host to talk to
  } else {
    bridge.start();
    if (typeof ResizeObserver === "function") new ResizeObserver(sizeChanged).observe(document.documentElement);
    if (!bridge.isEmbedded()) {
      document.getElementById("app").replaceChildren(h("p", { class: "muted", text: "No result to show." }));
    }
  }
})();
