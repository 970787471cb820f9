// A Stryker reporter plugin that `npm run mutate` (scripts/mutate.mjs) adds to every run: when the
// mutant plan is ready (after the dry run, before any mutant runs) it prints, per mutated file, the
// mutants to run, how many are static (each reruns every selected test) and the covering test time
// Stryker will spend on them (its `netTime`, summed), and writes the same figures to
// reports/mutation/<report>.plan.json. With MUTATE_PLAN_ONLY=1 the process then exits, so a probe
// costs one dry run instead of a whole mutation run. It also appends every mutant's result, as it
// comes, to reports/mutation/<report>.results.jsonl (file, line, mutator, replacement, status,
// killing test): a run stopped before its end (the JSON report is written only at the end) still
// leaves what it measured.
import { appendFileSync, writeFileSync } from 'node:fs'
import { commonTokens, declareClassPlugin, PluginKind } from '@stryker-mutator/api/plugin'

class PlanReporter {
  static inject = [commonTokens.options]
  constructor(options) {
    this.report = options.jsonReporter?.fileName ?? 'reports/mutation/mutation.json'
    this.results = this.report.replace(/\.json$/, '.results.jsonl')
    writeFileSync(this.results, '')
  }

  onMutantTested(m) {
    const line = {
      at: new Date().toISOString(),
      file: m.fileName.replace(/^.*?packages\//, 'packages/'),
      line: m.location.start.line,
      column: m.location.start.column,
      mutator: m.mutatorName,
      replacement: m.replacement,
      status: m.status,
      static: m.static === true,
      killedBy: m.killedBy?.[0],
    }
    appendFileSync(this.results, `${JSON.stringify(line)}\n`)
  }

  onMutationTestingPlanReady({ mutantPlans }) {
    const byFile = new Map()
    /** Where the static mutants are (file:line mutator, the line 1-based: Stryker's plan counts from 0). */
    const statics = []
    for (const p of mutantPlans) {
      if (p.plan === 'Run' && p.mutant.static)
        statics.push(
          `${p.mutant.fileName.replace(/^.*?packages\//, 'packages/')}:${p.mutant.location.start.line + 1} ${p.mutant.mutatorName}`,
        )
      const name = p.mutant.fileName.replace(/^.*?packages\//, 'packages/')
      const f = byFile.get(name) ?? {
        mutants: 0,
        run: 0,
        static: 0,
        early: 0,
        netSeconds: 0,
        staticSeconds: 0,
      }
      f.mutants++
      if (p.plan === 'Run') {
        f.run++
        f.netSeconds += p.netTime / 1000
        if (p.mutant.static) {
          f.static++
          f.staticSeconds += p.netTime / 1000
        }
      } else f.early++
      byFile.set(name, f)
    }
    const files = Object.fromEntries([...byFile].sort(([a], [b]) => a.localeCompare(b)))
    const total = Object.values(files).reduce(
      (t, f) => ({
        mutants: t.mutants + f.mutants,
        run: t.run + f.run,
        static: t.static + f.static,
        early: t.early + f.early,
        netSeconds: t.netSeconds + f.netSeconds,
        staticSeconds: t.staticSeconds + f.staticSeconds,
      }),
      { mutants: 0, run: 0, static: 0, early: 0, netSeconds: 0, staticSeconds: 0 },
    )
    const at = this.report.replace(/\.json$/, '.plan.json')
    writeFileSync(at, `${JSON.stringify({ at: new Date().toISOString(), total, files, statics }, null, 2)}\n`)
    console.log("\nmutant plan (to run / static / early result / covering test seconds, static's):")
    for (const [name, f] of [...Object.entries(files), ['total', total]])
      console.log(
        `${name.padEnd(44)} ${String(f.run).padStart(5)} ${String(f.static).padStart(5)} ${String(f.early).padStart(5)} ${f.netSeconds.toFixed(0).padStart(7)} s ${f.staticSeconds.toFixed(0).padStart(6)} s`,
      )
    console.log(`written to ${at}`)
    if (process.env.MUTATE_PLAN_ONLY === '1') process.exit(0)
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.Reporter, 'plan', PlanReporter)]
