import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Button } from '../../components/ui';
import '../token-form/token-form.css';

/** A key shown once, with a copy button and the warning that it will not be shown again. */
export function KeyReveal({ keyValue }: { keyValue: string }) {
  const { t } = useTranslation();
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  return (
    <div className="key-reveal">
      <div className="alert alert-warning" role="note">
        <strong>{t('tokenForm.keyWarningTitle')}</strong> {t('tokenForm.keyWarning')}
      </div>
      <p id="key-reveal-label" className="field-label">
        {t('tokenForm.yourKey')}
      </p>
      <div className="key-box">
        <code data-testid="token-key">{keyValue}</code>
        <Button
          variant="primary"
          onPress={() =>
            navigator.clipboard.writeText(keyValue).then(
              () => setCopied('yes'),
              () => setCopied('failed'),
            )
          }
        >
          {t('common.copy')}
        </Button>
      </div>
      <p role="status" className="copy-status">
        {copied === 'yes' ? t('common.copied') : copied === 'failed' ? t('tokenForm.copyFailed') : ''}
      </p>
    </div>
  );
}
