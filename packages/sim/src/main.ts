/** `npm run sim -- [options]`: see `--help`. */
import { main } from './cli.js'

const tty = process.stderr.isTTY === true
const code = await main(process.argv.slice(2), {
  out: (line) => {
    if (tty) process.stderr.write('\r\x1b[K')
    console.log(line)
  },
  error: (line) => process.stderr.write(`sim: ${line}\n`),
  progress: (text) => {
    if (tty) process.stderr.write(`\r\x1b[K${text}`)
    else process.stderr.write(`${text}\n`)
  },
})
process.exit(code)
