// Strict TypeScript linting for src/ (typescript-eslint recommended + type-checked rules), and the
// architecture's one boundary: src/core/ is pure TypeScript (no JupyterLab, Lumino or React, nothing
// from the JupyterLab-facing code around it), so it runs and is tested in plain Node.
import tseslint from 'typescript-eslint';

const FRAMEWORKS = {
  group: ['@jupyterlab/*', '@lumino/*', 'react', 'react-dom', 'react/*'],
  message: 'src/core/ is pure: JupyterLab, Lumino and React belong in src/ or src/widgets/.'
};

export default tseslint.config(
  { ignores: ['lib/**', 'node_modules/**', 'jupyter_repro/**', 'ui-tests/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: ['./tsconfig.eslint.json'], tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      '@typescript-eslint/no-namespace': 'off',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      eqeqeq: 'error',
      curly: 'error'
    }
  },
  {
    files: ['src/core/**/*.ts', 'src/core/**/*.tsx'],
    ignores: ['src/core/__tests__/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            FRAMEWORKS,
            {
              group: ['../*'],
              message: 'src/core/ imports only from src/core/ (the rest of src/ depends on it).'
            }
          ]
        }
      ]
    }
  },
  {
    files: ['src/core/__tests__/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [FRAMEWORKS] }] }
  }
);
