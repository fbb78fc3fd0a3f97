// lrfr <command> [options]
import { doctor } from './doctor.js';
import { demoMain } from './demo.js';
import { evalMain } from './eval.js';
import { enrollMain, identifyMain, galleryMain } from './gallery.js';
import { profileMain } from './profile.js';
import { serveMain } from './serve.js';
import { srMain } from './sr.js';
import { tuneMain } from './tune.js';
import { trainMain } from './train.js';

const USAGE = `usage: lrfr <command>

commands:
  demo              the trained pipeline on held-out faces against bicubic (npm start; lrfr demo --help)
  doctor            adapter info, features and limits; every kernel once against its reference
  enroll            add people's faces to a gallery (lrfr enroll --help)
  eval              recognition accuracy at full and low resolution (lrfr eval --help)
  identify          find the gallery's people closest to each face (lrfr identify --help)
  profile           GPU time per kernel of a model step (lrfr profile --help)
  serve             the browser app on http://127.0.0.1:8080/ (lrfr serve --help)
  sr                super-resolve face crops, or every face of photos, to 112x112 (lrfr sr --help)
  train             train a recognizer, a DSR or a whole cycle from a config (lrfr train --help)
  tune              time kernel variants on this adapter, cache the winners (lrfr tune --help)
  gallery           list, delete, stats, export, import, index a gallery (lrfr gallery --help)
  help              this text

options (before or after the command):
  --verbose         also show the runtime's notes that are hidden by default (Dawn's adapter limit
                    warnings); the same as LRFR_VERBOSE=1
`;

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--verbose')) {
    process.env.LRFR_VERBOSE = '1';
    argv = argv.filter((a) => a !== '--verbose');
  }
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'demo':
      return demoMain(rest);
    case 'doctor':
      return doctor(rest);
    case 'enroll':
      return enrollMain(rest);
    case 'identify':
      return identifyMain(rest);
    case 'gallery':
      return galleryMain(rest);
    case 'eval':
      return evalMain(rest);
    case 'profile':
      return profileMain(rest);
    case 'serve':
      return serveMain(rest);
    case 'sr':
      return srMain(rest);
    case 'train':
      return trainMain(rest);
    case 'tune':
      return tuneMain(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return cmd === undefined ? 1 : 0;
    default:
      process.stderr.write(`lrfr: unknown command "${cmd}"\n\n${USAGE}`);
      return 2;
  }
}
