/**
 * The "Pipeline" section of the property inspector (a JupyterLab metadata form, declared in
 * schema/plugin.json): edits the active cell's step, its `after:` dependencies and the `setup`,
 * `skip`, `no-cache` and `ignore-output` tags. Everything is written as ordinary cell tags.
 */
import React, { useEffect, useState } from 'react';

import { FLAG_TAGS, newStepNameProblem, withAfter, withFlag, withStep } from '../core/tagedit';
import { afterSteps, startedStep } from '../core/tags';

/** What the field needs from the notebook around the cell. */
export interface IPipelineFieldContext {
  /** The steps of the active notebook, in order of appearance. */
  steps(): string[];
  /** Rename a step everywhere (its tag and the `after:` tags that point at it). */
  rename(from: string, to: string): void;
}

/** The subset of rjsf's FieldProps this field uses. */
export interface IPipelineFieldProps {
  formData?: unknown;
  name: string;
  formContext?: {
    updateMetadata?: (data: Record<string, unknown>, reload?: boolean) => void;
  };
}

const FLAG_HELP: Record<(typeof FLAG_TAGS)[number], string> = {
  setup: 'Shared code (imports, helpers) made available to every step',
  skip: 'Exploration cell: not part of the pipeline',
  'no-cache': 'Always re-execute this step (it reads a live source)',
  'ignore-output': 'Run, but do not compare the outputs when verifying'
};

export function PipelineTagsField(props: {
  field: IPipelineFieldProps;
  context: IPipelineFieldContext;
}): React.JSX.Element {
  const { field, context } = props;
  const tags: string[] = Array.isArray(field.formData)
    ? field.formData.filter((t): t is string => typeof t === 'string')
    : [];
  const step = startedStep(tags) ?? '';
  const [draft, setDraft] = useState(step);
  useEffect(() => {
    setDraft(step);
  }, [step]);

  const allSteps = context.steps();
  const others = allSteps.filter(name => name !== step);
  const problem =
    draft.trim() === '' || draft.trim() === step ? null : newStepNameProblem(draft.trim(), others);
  const after = afterSteps(tags);

  const write = (next: string[]): void => {
    field.formContext?.updateMetadata?.({ [field.name]: next }, true);
  };
  const commitStep = (): void => {
    const name = draft.trim();
    if (name === step || problem !== null) {
      return;
    }
    if (name === '') {
      write(withStep(tags, null));
    } else if (step !== '') {
      context.rename(step, name);
    } else {
      write(withStep(tags, name));
    }
  };

  return (
    <div className="jp-repro-tags-field">
      <label className="jp-repro-field">
        <span>Step</span>
        <input
          className="jp-mod-styled jp-repro-tags-step"
          value={draft}
          placeholder="not the start of a step"
          spellCheck={false}
          onChange={event => {
            setDraft(event.target.value);
          }}
          onBlur={commitStep}
          onKeyDown={event => {
            if (event.key === 'Enter') {
              commitStep();
            } else if (event.key === 'Escape') {
              setDraft(step);
            }
          }}
        />
      </label>
      {problem !== null && (
        <p className="jp-repro-problem" role="alert">
          {problem}
        </p>
      )}
      <fieldset className="jp-repro-tags-after">
        <legend>Runs after</legend>
        {others.length === 0 && after.length === 0 && (
          <p className="jp-repro-hint">No other steps yet.</p>
        )}
        {[...new Set([...others, ...after])].map(name => (
          <label key={name} className="jp-repro-check">
            <input
              type="checkbox"
              checked={after.includes(name)}
              onChange={event => {
                const next = event.target.checked
                  ? [...after, name]
                  : after.filter(n => n !== name);
                write(withAfter(tags, next));
              }}
            />
            <span>{name}</span>
            {!allSteps.includes(name) && <span className="jp-repro-problem"> (no such step)</span>}
          </label>
        ))}
      </fieldset>
      <fieldset className="jp-repro-tags-flags">
        <legend>Cell</legend>
        {FLAG_TAGS.map(flag => (
          <label key={flag} className="jp-repro-check" title={FLAG_HELP[flag]}>
            <input
              type="checkbox"
              checked={tags.includes(flag)}
              onChange={event => {
                write(withFlag(tags, flag, event.target.checked));
              }}
            />
            <span>{flag}</span>
          </label>
        ))}
      </fieldset>
    </div>
  );
}
