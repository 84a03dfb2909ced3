import js from '@eslint/js'
import tseslint from 'typescript-eslint'

// The rooms of src/, lowest first (ARCHITECTURE.md): a room may import its own and lower ones.
// cli and action are siblings at the top and never import each other.
const ROOMS = [
  'shared',
  'manifest',
  'archive',
  'docker',
  'stores',
  'snapshot',
  'restore',
  'verify',
  'app',
  'cli',
  'action'
]
const SIBLINGS = ['cli', 'action']
const roomRules = ROOMS.map((room, rank) => {
  const forbidden = ROOMS.filter(
    (other, otherRank) =>
      otherRank > rank || (other !== room && SIBLINGS.includes(room) && SIBLINGS.includes(other))
  )
  return {
    files: [`src/${room}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...(room === 'action'
              ? []
              : [{ name: '@actions/core', message: 'Only src/action/ talks to the runner.' }]),
            ...(room === 'docker'
              ? []
              : [{ name: 'dockerode', message: 'Only src/docker/ talks to the engine.' }])
          ],
          patterns: forbidden.length
            ? [
                {
                  regex: `^\\.\\.?/(?:\\.\\./)*(?:${forbidden.join('|')})/`,
                  message: `src/${room}/ sits below ${forbidden.join(', ')}: see ARCHITECTURE.md.`
                }
              ]
            : []
        }
      ]
    }
  }
})

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' }
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }]
    }
  },
  {
    // The bench was once a 1,400-line script with a 280-line main(): keep its functions short.
    files: ['scripts/bench/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }]
    }
  },
  ...roomRules
)
