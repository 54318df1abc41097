#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { ExportOpsStack } from '../lib/export-ops-stack';

const app = new App();

// Settings come from cdk.json / -c context (the settings table, lambdas/shared/settings.ts, read by
// lib/config.ts); only supabaseUrl is required.
new ExportOpsStack(app, app.node.tryGetContext('stackName') ?? 'ExportOps', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'export-ops: Supabase export file cleanup, log archival and export metrics',
});

// Any unacknowledged finding fails synth and is listed in cdk.out/validation-report.json.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
