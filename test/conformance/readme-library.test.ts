/**
 * The README's Library example compiles against the package's API, as a TypeScript user's code would
 * (strict, NodeNext, `import … from 'bttls'` resolved to src/index.ts), and the package ships what
 * such a user needs: declarations named in `exports`, and no source map pointing at unshipped files.
 */
import t from 'tap'
import ts from 'typescript'
import { join } from 'node:path'
import { ROOT } from '../helpers/project-root.js'
import { readFile, writeFile } from 'node:fs/promises'
import { tempDir } from '../helpers/session-pair.js'


t.test('the README Library example type-checks', async t => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
  const example = /## Library\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1]
  t.ok(example, 'the README has a Library example')
  const dir = await tempDir(t)
  const file = join(dir, 'example.mts')
  await writeFile(file, example!)
  const program = ts.createProgram([file], {
    strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')],
    baseUrl: ROOT, paths: { bttls: ['src/index.ts'] }
  })
  const diagnostics = ts.getPreEmitDiagnostics(program).filter(d => d.file === undefined || d.file.fileName === file.replace(/\\/g, '/'))
  t.same(diagnostics.map(d => ts.flattenDiagnosticMessageText(d.messageText, '\n')), [], 'no type error in the example')
})

t.test('package.json exports declarations; the build writes them and inlines the sources of its maps', async t => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { types?: string, exports: Record<string, { types?: string, import?: string }>, files: string[] }
  t.equal(pkg.exports['.']?.types, './dist/src/index.d.ts', 'exports["."].types')
  t.equal(pkg.exports['.']?.import, './dist/src/index.js', 'exports["."].import')
  t.equal(pkg.types, './dist/src/index.d.ts', 'types, for older resolvers')
  const build = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.build.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!
  t.equal(build.options.declaration, true, 'the build emits .d.ts files')
  // Maps name ../../src/*.ts, which the package does not ship (files: dist/src): their text goes inside.
  t.notOk(pkg.files.includes('src'), 'src/ is not shipped')
  t.ok(build.options.sourceMap !== true || build.options.inlineSources === true, 'source maps carry their sources')
})
